"""Real processes for the fault drills: a private redis-server and `celery -A dealscale worker` processes.

The drills never touch the shared Redis on 6379: each starts its own redis-server on a free port, which
it can stop and start again. Workers run against that Redis and the test database (the drills are
transactional tests, so what the test writes is committed and visible to them) and call the fake Discord
of the test process over HTTP. Every wait is bounded and fails loudly with the worker's log.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
from django.conf import settings
from django.db import connection

from dealscale import broker
from dealscale.celery import app as celery_app

BASE_DIR = Path(settings.BASE_DIR)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], Any], *, timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(interval)


class PrivateRedis:
    """A redis-server of the drill's own on 127.0.0.1, without persistence: a restart forgets the queue."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> PrivateRedis:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url(), socket_connect_timeout=0.2)
        wait_for(lambda: self._answers(client), timeout=10, what="the private redis-server to start")
        return self

    @staticmethod
    def _answers(client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None


class Worker:
    """One `celery -A dealscale worker` process group (prefork, two children), logging to a file."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> Worker:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "dealscale",
                "worker",
                "--loglevel=INFO",
                "--concurrency=2",
                "--pool=prefork",
                f"--hostname={self.name}@drill",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        wait_for(
            lambda: self.process.poll() is not None or f"{self.name}@drill ready." in self.log(),
            timeout=90,
            what=f"worker {self.name} to start",
            interval=0.2,
        )
        assert self.process.poll() is None, f"worker {self.name} exited:\n{self.log()[-3000:]}"
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def kill_pool(self) -> list[int]:
        """SIGKILL the pool processes, as the OOM killer would; the main process lives on and replaces them."""
        children = wait_for(self.children, timeout=10, what="the pool processes")
        for child in children:
            os.kill(child, signal.SIGKILL)
        return children

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool) at once, as a lost machine would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


def database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def worker_env(*, private_redis: PrivateRedis, fake_discord, **overrides: str) -> dict[str, str]:
    """The environment of a drill worker: the test database, the private Redis, the fake Discord, short
    timeouts so that a drill's recovery takes seconds instead of minutes."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST", "CELERY_", "OUTBOX_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "dealscale.settings",
            "DEBUG": "true",
            "SECRET_KEY": settings.SECRET_KEY,
            "DATABASE_URL": database_url(),
            "REDIS_URL": private_redis.url(1),
            "CELERY_BROKER_URL": private_redis.url(0),
            "DISCORD_API_BASE_URL": fake_discord.base_url,
            "DISCORD_BOT_TOKEN": settings.DISCORD_BOT_TOKEN,
            "DISCORD_CLIENT_ID": settings.DISCORD_CLIENT_ID,
            "DISCORD_CLIENT_SECRET": settings.DISCORD_CLIENT_SECRET,
            "DISCORD_GUILD_ID": settings.DISCORD_GUILD_ID,
            "DISCORD_MOD_CHANNEL_ID": settings.DISCORD_MOD_CHANNEL_ID,
            "DISCORD_RETRY_BACKOFF_SECONDS": "0.01",
            "DISCORD_HTTP_TIMEOUT": "1.0",
            # A message the killed worker held comes back after 3 s instead of 120 s.
            "CELERY_VISIBILITY_TIMEOUT": "3",
            "OUTBOX_FIRST_BACKOFF_SECONDS": "0.2",
            "OUTBOX_MAX_BACKOFF_SECONDS": "1",
            "LOG_FORMAT": "console",
            "LOG_LEVEL": "INFO",
        }
    )
    env.update(overrides)
    return env


@contextmanager
def celery_pointed_at(broker_url: str) -> Iterator[None]:
    """Send this process's tasks (the outbox's kicks and relay) to `broker_url` while inside."""
    conf = celery_app.conf
    previous = (
        conf.broker_url,
        conf.broker_transport,
        conf.broker_transport_options,
        os.environ.get("CELERY_BROKER_URL"),
    )
    # Celery reads CELERY_BROKER_URL from the environment before its configuration (`make test` sets it).
    os.environ["CELERY_BROKER_URL"] = broker_url
    conf.broker_url = broker_url
    conf.broker_transport = broker.TRANSPORT
    conf.broker_transport_options = broker.transport_options(visibility_timeout=3)
    _drop_connections()
    try:
        yield
    finally:
        conf.broker_url, conf.broker_transport, conf.broker_transport_options, environ_url = previous
        if environ_url is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = environ_url
        _drop_connections()


def _drop_connections() -> None:
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None

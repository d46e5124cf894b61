"""Drill: PostgreSQL connections terminated under a real gunicorn worker.

A lost connection is an outage, not a bug: the caller gets a 503 in the API's error shape with a
Retry-After, nothing the request began is kept, the worker is not stuck, and the next request
succeeds. One gunicorn process with one sync worker serves every request of this module, so "the
next request succeeds" is the same worker recovering. The requests are held mid-transaction on a row
lock taken by the test, the test finds the waiting backend in pg_stat_activity and terminates it
(`pg_terminate_backend`) from a second connection; between requests, the worker's persistent
connection (CONN_MAX_AGE) is terminated while idle.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from accounts.services import create_api_token
from accounts.tests.factories import UserFactory
from credits import selectors
from credits.models import CreditAccount, CreditRequest, LedgerEntry
from credits.tests.factories import CreditRequestFactory, ModeratorFactory
from dealscale.api import DATABASE_RETRY_AFTER_SECONDS

pytestmark = pytest.mark.django_db(transaction=True)

BASE_DIR = Path(settings.BASE_DIR)
# Generous bounds for a loaded machine: each is a limit, never an expected duration.
STARTUP_SECONDS = 60
WAIT_SECONDS = 30


def _database_kwargs() -> dict:
    db = connection.settings_dict
    return {
        "host": db["HOST"] or "127.0.0.1",
        "port": db["PORT"] or 5432,
        "user": db["USER"],
        "dbname": db["NAME"],
    }


class Gunicorn:
    def __init__(self, process: subprocess.Popen, url: str, log_path: Path):
        self.process, self.url, self.log_path = process, url, log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def request(self, method: str, path: str, *, token: str, body: dict | None = None):
        """(status, headers, body: JSON if it is JSON, else text) of one call; HTTP errors are answers."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        request.add_header("Authorization", f"Bearer {token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=WAIT_SECONDS) as response:
                return self._answer(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            return self._answer(error.code, error.headers, error.read())

    @staticmethod
    def _answer(status: int, headers, raw: bytes):
        is_json = headers.get("Content-Type", "").startswith("application/json")
        return status, headers, json.loads(raw) if is_json else raw.decode(errors="replace")[:2000]


@pytest.fixture(scope="module")
def gunicorn(django_db_setup, django_db_blocker, tmp_path_factory):
    with django_db_blocker.unblock():
        db = _database_kwargs()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DEBUG": "true",
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": f"postgres://{db['user']}@{db['host']}:{db['port']}/{db['dbname']}",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": "memory://",
        # The persistent connection the idle drill cuts; the health check replaces it (settings.py).
        "DB_CONN_MAX_AGE": "60",
    }
    log_path = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "dealscale.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--timeout",
                str(WAIT_SECONDS * 2),
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Gunicorn(process, f"http://127.0.0.1:{port}", log_path)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert process.poll() is None, f"gunicorn exited:\n{server.log()}"
            try:
                urllib.request.urlopen(f"{server.url}/health", timeout=2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, f"gunicorn did not answer /health:\n{server.log()}"
                time.sleep(0.2)
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def _own_backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _wait_for(query: str, params: tuple, *, watcher) -> list[int]:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        pids = [row[0] for row in watcher.execute(query, params).fetchall()]
        if pids:
            return pids
        assert time.monotonic() < deadline, "no backend of the server showed up in pg_stat_activity"
        time.sleep(0.05)


def _terminate(pids: list[int], *, watcher) -> None:
    for pid in pids:
        assert watcher.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]


class HeldRequest(threading.Thread):
    """One call made in the background, so the test can cut its connection while it waits on a lock."""

    def __init__(self, server: Gunicorn, method: str, path: str, **kwargs):
        super().__init__(daemon=True)
        self.call, self.result = (lambda: server.request(method, path, **kwargs)), None

    def run(self) -> None:
        self.result = self.call()


def _cut_while_waiting_on(
    lock_sql: str, lock_params: tuple, server: Gunicorn, method: str, path: str, **kwargs
):
    """Make the call while the test holds a row lock it needs; terminate its backend once it waits."""
    with (
        psycopg.connect(**_database_kwargs()) as holder,
        psycopg.connect(**_database_kwargs(), autocommit=True) as watcher,
    ):
        holder.execute(lock_sql, lock_params)
        exempt = (holder.info.backend_pid, watcher.info.backend_pid, _own_backend_pid())
        call = HeldRequest(server, method, path, **kwargs)
        call.start()
        waiting = _wait_for(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND NOT pid = ANY(%s)",
            (list(exempt),),
            watcher=watcher,
        )
        _terminate(waiting, watcher=watcher)
        call.join(timeout=WAIT_SECONDS)
        assert not call.is_alive(), f"the worker is stuck:\n{server.log()}"
        holder.rollback()
    return call.result


def _assert_outage_answer(result) -> None:
    status, headers, body = result
    assert status == 503
    assert headers["Retry-After"] == str(DATABASE_RETRY_AFTER_SECONDS)
    assert headers["Content-Type"] == "application/json"
    assert body["code"] == "database_unavailable" and body["detail"]


@pytest.fixture
def member():
    user = UserFactory()
    CreditAccount.objects.create(user=user)
    return user, create_api_token(user=user)[1]


REQUEST = {"amount": 25, "reason": "Organised the community meetup"}
LOCK_ACCOUNT = "SELECT 1 FROM credits_creditaccount WHERE user_id = %s FOR UPDATE"


def test_a_request_whose_connection_is_cut_mid_transaction_gets_503_and_writes_nothing(gunicorn, member):
    user, token = member

    result = _cut_while_waiting_on(
        LOCK_ACCOUNT, (user.pk,), gunicorn, "POST", "/api/credit-requests", token=token, body=REQUEST
    )

    _assert_outage_answer(result)
    assert not CreditRequest.objects.exists()
    retry = gunicorn.request("POST", "/api/credit-requests", token=token, body=REQUEST)
    assert retry[0] == 201
    assert CreditRequest.objects.get().pk == retry[2]["id"]


def test_an_approval_cut_mid_transaction_grants_nothing_and_its_retry_grants_once(gunicorn):
    moderator = ModeratorFactory()
    _, token = create_api_token(user=moderator)
    pending = CreditRequestFactory(amount=300)
    CreditAccount.objects.get_or_create(user=pending.user)
    path = f"/api/admin/credit-requests/{pending.pk}/approve"

    # The approval locks the request, then waits for the member's account: cut there.
    result = _cut_while_waiting_on(
        LOCK_ACCOUNT, (pending.user_id,), gunicorn, "POST", path, token=token, body={}
    )

    _assert_outage_answer(result)
    pending.refresh_from_db()
    assert pending.status == CreditRequest.Status.PENDING
    assert not LedgerEntry.objects.exists()
    assert gunicorn.request("POST", path, token=token, body={})[0] == 200
    assert LedgerEntry.objects.filter(request=pending).count() == 1
    assert selectors.balance_for(pending.user) == 300
    call_command("verify_ledger")


def test_an_idle_persistent_connection_cut_between_requests_is_replaced_and_the_next_request_succeeds(
    gunicorn, member
):
    _, token = member
    assert gunicorn.request("GET", "/api/me", token=token)[0] == 200

    with psycopg.connect(**_database_kwargs(), autocommit=True) as watcher:
        workers = _wait_for(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND state = 'idle' AND NOT pid = ANY(%s)",
            ([watcher.info.backend_pid, _own_backend_pid()],),
            watcher=watcher,
        )
        _terminate(workers, watcher=watcher)

    status, _, body = gunicorn.request("GET", "/api/me", token=token)
    assert status == 200 and body["balance"] == 0

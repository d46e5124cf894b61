"""Shared test set-up: the suite needs the real PostgreSQL and Redis and says so loudly."""

import pytest
from django.conf import settings


def pytest_sessionstart(session):
    problems = []
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        problems.append(
            f"The tests run on PostgreSQL, but DATABASE_URL selects {engine}. Use `make test` "
            "or set DATABASE_URL=postgres://postgres@127.0.0.1:5432/dealscale."
        )
    else:
        import psycopg

        db = settings.DATABASES["default"]
        try:
            psycopg.connect(
                host=db["HOST"] or "127.0.0.1",
                port=db["PORT"] or 5432,
                user=db["USER"],
                dbname="postgres",
                connect_timeout=3,
            ).close()
        except psycopg.OperationalError as exc:
            problems.append(f"PostgreSQL is not reachable at {db['HOST']}:{db['PORT']}: {exc}".strip())
    if not settings.REDIS_URL:
        problems.append("The tests need Redis: set REDIS_URL=redis://127.0.0.1:6379/15 (or use `make test`).")
    else:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)
        if client.connection_pool.connection_kwargs.get("db", 0) == 0:
            # Every test empties its Redis database: never the default one an app may be using.
            problems.append(
                f"REDIS_URL={settings.REDIS_URL} is Redis database 0; the tests flush their database, "
                "so give them a dedicated one, e.g. redis://127.0.0.1:6379/15 (as `make test` does)."
            )
        try:
            client.ping()
        except redis.RedisError as exc:
            problems.append(f"Redis is not reachable at {settings.REDIS_URL}: {exc}")
    if problems:
        pytest.exit("Test services missing:\n  - " + "\n  - ".join(problems), returncode=3)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The default hasher spends ~0.3 s per user on purpose; the factories hash a password per user.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clean_cache_and_redis():
    """Each test starts with an empty cache and Redis database (the test Redis DB only)."""
    from django.core.cache import cache

    from dealscale.redis_client import get_redis

    cache.clear()
    redis = get_redis()
    if redis is not None:
        redis.flushdb()
    yield


@pytest.fixture(scope="session", autouse=True)
def _close_stray_connections_before_teardown(django_db_setup, django_db_blocker):
    """Let the test database be dropped at the end of the run.

    Tests that hand ORM work to threads (the bot's sync_to_async worker, health checks) can leave
    a connection open in a thread that is gone; PostgreSQL then refuses to drop the database.
    """
    yield
    from django.db import connection

    if not connection.settings_dict["NAME"].startswith("test_"):
        return  # no test of this run touched the database
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


class OutboxWorker:
    """Delivers outbox entries in the test's own process, as a worker would (see `outbox_worker`)."""

    def entries(self, kind: str | None = None) -> list:
        from dealscale.models import OutboxEntry

        entries = OutboxEntry.objects.order_by("pk")
        return list(entries.filter(kind=kind) if kind else entries)

    def payloads(self, kind: str) -> list[dict]:
        return [entry.payload for entry in self.entries(kind)]

    def run(self) -> list[str]:
        """One pass: deliver every entry that is due now; returns what happened to each."""
        from dealscale import outbox
        from dealscale.models import OutboxEntry

        due = OutboxEntry.objects.filter(status=OutboxEntry.Status.PENDING).order_by("pk")
        return [outbox.deliver(pk) for pk in list(due.values_list("pk", flat=True))]

    def drain(self, *, max_rounds: int = 50) -> int:
        """Deliver until nothing is pending, skipping each backoff (as if its time had passed); returns the
        number of delivery attempts made."""
        from django.utils import timezone

        from dealscale.models import OutboxEntry

        attempts = 0
        for _ in range(max_rounds):
            pending = OutboxEntry.objects.filter(status=OutboxEntry.Status.PENDING)
            if not pending.exists():
                return attempts
            pending.update(next_attempt_at=timezone.now())
            attempts += len(self.run())
        raise AssertionError(f"outbox entries still pending after {max_rounds} rounds")


@pytest.fixture
def outbox_worker():
    """The outbox delivered inline: `run()` is one worker pass, `drain()` retries until nothing is pending.

    In tests the kick after a commit goes to an in-memory broker that nothing reads, so a test delivers
    explicitly what it wants delivered.
    """
    return OutboxWorker()

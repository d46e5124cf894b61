"""Shared set-up of the leaderboard benchmarks: a throwaway PostgreSQL database and fast seeding.

Import this module before anything from Django: it points DATABASE_URL at the bench database
(`ds_bench_leaderboard` unless BENCH_DB is set) and configures Django for it.
"""

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
BENCH_DB = os.environ.get("BENCH_DB", "ds_bench_leaderboard")
BENCH_ENV = {
    "DATABASE_URL": f"{PG}/{BENCH_DB}",
    "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/2"),
    "CELERY_BROKER_URL": "memory://",
    "DEBUG": "false",
    "SECRET_KEY": "bench-only-secret-key-not-for-production",
    "SECURE_SSL_REDIRECT": "false",
    "LOG_LEVEL": "WARNING",
    # The API benches send X-Forwarded-For like a load balancer would.
    "API_NUM_PROXIES": "1",
}
os.environ.update(BENCH_ENV)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealscale.settings")


def create_database() -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def drop_database() -> None:
    from django.db import connections

    connections.close_all()
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def setup_django() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def seed(
    users: int, *, month_share: float = 0.4, week_share: float = 0.15, linked_share: float = 0.5
) -> None:
    """`users` members, all ranked all-time, a share of them this month and this week; totals only.

    The recalculation reads the per-period totals, which the ledger keeps in step on every write,
    so the benchmark seeds totals directly (generate_series) instead of replaying millions of events.
    """
    from django.db import connection

    from leaderboard.periods import Period, period_start

    now = datetime.now(UTC)
    with connection.cursor() as cursor:
        # A throwaway database: start every size from empty.
        cursor.execute(
            "TRUNCATE accounts_user, leaderboard_score_totals, socialaccount_socialaccount CASCADE"
        )
        cursor.execute(
            """
            INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email,
                                       is_staff, is_active, date_joined, display_name)
            SELECT '!', false, 'bench' || g, '', '', '', false, true, now(), 'Bench member ' || g
            FROM generate_series(1, %s) g
            """,
            [users],
        )
        cursor.execute(
            """
            INSERT INTO socialaccount_socialaccount
                (user_id, provider, uid, last_login, date_joined, extra_data)
            SELECT id, 'discord', (300000000000000000 + id)::text, now(), now(),
                   jsonb_build_object('id', (300000000000000000 + id)::text, 'avatar', md5(id::text),
                                      'global_name', 'Member ' || id)
            FROM accounts_user WHERE username LIKE 'bench%%' AND random() < %s
            """,
            [linked_share],
        )
        for period, share, spread in [
            (Period.ALL, 1.0, 100_000),
            (Period.MONTH, month_share, 5_000),
            (Period.WEEK, week_share, 1_000),
        ]:
            cursor.execute(
                """
                INSERT INTO leaderboard_score_totals (user_id, period, period_start, score, reached_at)
                SELECT id, %s, %s, (random() * %s)::bigint, now() - random() * interval '30 days'
                FROM accounts_user WHERE username LIKE 'bench%%' AND random() < %s
                """,
                [period, period_start(period, now), spread, share],
            )
        cursor.execute(
            "INSERT INTO leaderboard_ledger_state (id, change_counter) VALUES (1, 1) "
            "ON CONFLICT (id) DO UPDATE SET change_counter = leaderboard_ledger_state.change_counter + 1"
        )
    with psycopg.connect(f"{PG}/{BENCH_DB}", autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def bump_ledger() -> None:
    """What an incoming event does to the change counter: the next run recomputes every period."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("UPDATE leaderboard_ledger_state SET change_counter = change_counter + 1")

"""Benchmark of the operations reads at volume: the health dashboard, /metrics and one alert evaluation.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> REDIS_URL=redis://127.0.0.1:6379/<n> \\
        DEBUG=true python bench/ops_dashboard.py [--commands 200000] [--rounds 7]

Creates a scratch database beside the one given, migrates it, fills it with `--commands` bot command
invocations spread over the last 7 days (2 % errors), a tenth as many credit requests (half decided),
audit-logged links and OAuth callbacks, then prints, for each read, the median and worst of
`--rounds` runs and its number of SQL queries:
1. the dashboard figures and trends over 24 h and over 7 days (`ops.dashboard`);
2. the whole dashboard page as staff (figures, charts, health checks);
3. a `/metrics` scrape;
4. one evaluation of every alert rule.
"""

import argparse
import os
import statistics
import time
from datetime import timedelta

from common import ScratchDatabase, setup_django

SCRATCH = ScratchDatabase("bench_ops")
setup_django(LOG_LEVEL="WARNING", CELERY_BROKER_URL="memory://")

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import AuditEvent, OAuthAttempt, User  # noqa: E402
from credits.models import CreditRequest  # noqa: E402
from discordbot.models import CommandInvocation  # noqa: E402
from discordbot.services import record_heartbeat  # noqa: E402
from ops import dashboard  # noqa: E402
from ops.alerts import evaluate_alerts  # noqa: E402
from ops.rules import RULES  # noqa: E402

WEEK_SECONDS = 7 * 24 * 3600
# Row i of n, spread evenly over the last 7 days (n is the first query parameter).
SPREAD = f"now() - make_interval(secs => (i::float / %s) * {WEEK_SECONDS})"


def fill(commands: int) -> None:
    """Rows spread evenly over the last 7 days, written set-based (auto_now_add would pin them to now)."""
    users = User.objects.bulk_create([User(username=f"bench{i}") for i in range(1000)])
    first_user = users[0].pk
    requests = commands // 10
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {CommandInvocation._meta.db_table}
                    (command, discord_user_id, duration_ms, outcome, created_at)
                SELECT (ARRAY['credits','leaderboard','link','request-credits','rank'])[1 + i %% 5],
                       (100000000000000000 + i %% 5000)::text, 50 + (i * 7919) %% 400,
                       CASE WHEN i %% 50 = 0 THEN 'error' WHEN i %% 17 = 0 THEN 'refused' ELSE 'ok' END,
                       {SPREAD}
                FROM generate_series(1, %s) AS i""",
            [commands, commands],
        )
        cursor.execute(
            f"""INSERT INTO {CreditRequest._meta.db_table}
                    (user_id, amount, reason, status, source, created_at, decided_at, decision_note)
                SELECT {first_user} + i %% 1000, 100, 'bench', s.status, 'web', s.created,
                       CASE WHEN s.status = 'pending' THEN NULL ELSE s.created + interval '1 hour' END, ''
                FROM generate_series(1, %s) AS i,
                LATERAL (SELECT (ARRAY['pending','approved','denied','approved'])[1 + i %% 4] AS status,
                                {SPREAD} AS created) s""",
            [requests, requests],
        )
        cursor.execute(
            f"""INSERT INTO {AuditEvent._meta.db_table}
                    (created_at, actor_repr, action, target_type, target_id, target_repr, data, source)
                SELECT {SPREAD}, 'bench',
                       CASE WHEN i %% 2 = 0 THEN 'discord.linked' ELSE 'api_token.revoked' END,
                       '', '', '', '{{}}', 'web'
                FROM generate_series(1, %s) AS i""",
            [requests, requests],
        )
        cursor.execute(
            f"""INSERT INTO {OAuthAttempt._meta.db_table} (provider, succeeded, error, created_at)
                SELECT 'discord', i %% 10 <> 0, '', {SPREAD}
                FROM generate_series(1, %s) AS i""",
            [requests, requests],
        )
        cursor.execute("ANALYZE")
    now = timezone.now()
    record_heartbeat(
        instance="bench", started_at=now - timedelta(hours=5), latency_ms=40, guild_count=1, commands_served=0
    )


def measure(name: str, rounds: int, work) -> None:
    samples, queries = [], 0
    for _ in range(rounds):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            work()
            samples.append((time.perf_counter() - started) * 1000)
        queries = len(captured)
    print(
        f"  {name:<34} median {statistics.median(samples):8.1f} ms   worst {max(samples):8.1f} ms"
        f"   {queries:3d} queries"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    with SCRATCH.created():
        setup_test_environment()
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        fill(args.commands)
        filled = time.perf_counter() - started
        counts = ", ".join(
            f"{model.objects.count():,} {label}"
            for model, label in [
                (CommandInvocation, "command invocations"),
                (CreditRequest, "credit requests"),
                (AuditEvent, "audit events"),
                (OAuthAttempt, "OAuth callbacks"),
            ]
        )
        print(f"Operations reads on PostgreSQL (scratch database {SCRATCH.name}), {os.cpu_count()} CPUs")
        print(f"  {counts} over 7 days (filled in {filled:.1f} s)")
        staff = User.objects.create(username="bench-staff", is_staff=True, is_superuser=True)
        client = Client()
        client.force_login(staff)
        settings.METRICS_TOKEN = "bench"

        measure(
            "dashboard figures, 24 h trends",
            args.rounds,
            lambda: dashboard.health_figures(range_key="24h"),
        )
        measure(
            "dashboard figures, 7 day trends",
            args.rounds,
            lambda: dashboard.health_figures(range_key="7d"),
        )
        measure("dashboard page (staff, 24 h)", args.rounds, lambda: client.get("/admin/discord-health/"))
        measure(
            "/metrics scrape", args.rounds, lambda: client.get("/metrics", HTTP_AUTHORIZATION="Bearer bench")
        )
        measure(f"alert evaluation ({len(RULES)} rules)", args.rounds, evaluate_alerts)


if __name__ == "__main__":
    main()

"""Benchmark of the bot's /leaderboard and /rank handlers with 100 000 ranked members; prints p50/p95/max.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> REDIS_URL=redis://127.0.0.1:6379/<n> \\
        DEBUG=true python bench/bot_handlers.py [--members 100000] [--runs 300]

It migrates the database it is given, seeds the members (linked Discord accounts and all-time score
totals), publishes the ranking through the leaderboard's own recalculation service, then times each handler
from the moment the interaction reaches it to the moment it hands its answer to the interaction response
(the HTTP callback itself is not included: it is Discord's round trip, not ours). Handlers run on one event
loop exactly as in `runbot`, with the ORM through database_sync_to_async. The seeded rows are deleted at
the end.
"""

import argparse
import asyncio
import os
import random
import statistics
import time
from unittest.mock import AsyncMock, MagicMock

from common import setup_django

setup_django()

from allauth.socialaccount.models import SocialAccount  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from waffle.models import Flag  # noqa: E402

from accounts.models import User  # noqa: E402
from discordbot.cogs.leaderboard import LeaderboardCog, leaderboard_page, rank_view  # noqa: E402
from leaderboard.models import ScoreTotal  # noqa: E402
from leaderboard.periods import ALL_TIME_START, Period  # noqa: E402
from leaderboard.services import recalculate_leaderboard  # noqa: E402

PREFIX = "benchbot"
FIRST_DISCORD_ID = 700_000_000_000_000_000


def seed(members: int) -> None:
    started = time.perf_counter()
    # Set-based inserts (generate_series): 100 000 members in seconds, where the ORM needs minutes here.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email,
                                       is_staff, is_active, date_joined, display_name)
            SELECT '!', false, %s || g, '', '', '', false, true, now(), 'Player ' || to_char(g, 'FM999,999,990')
            FROM generate_series(0, %s - 1) g
            """,
            [PREFIX, members],
        )
        cursor.execute(
            """
            INSERT INTO socialaccount_socialaccount (user_id, provider, uid, last_login, date_joined, extra_data)
            SELECT id, 'discord', (%s + substr(username, %s)::bigint)::text, now(), now(), '{}'::jsonb
            FROM accounts_user WHERE username LIKE %s
            """,
            [FIRST_DISCORD_ID, len(PREFIX) + 1, f"{PREFIX}%"],
        )
        cursor.execute(
            """
            INSERT INTO leaderboard_score_totals (user_id, period, period_start, score, reached_at)
            SELECT id, %s, %s, (random() * 1000000)::bigint, now() - random() * interval '115 days'
            FROM accounts_user WHERE username LIKE %s
            """,
            [Period.ALL.value, ALL_TIME_START, f"{PREFIX}%"],
        )
    Flag.objects.update_or_create(name="discord_integration", defaults={"everyone": True})
    # Fresh bulk-loaded tables have no planner statistics until autovacuum gets to them; production does.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"seeded {members:,} linked members with scores in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    # Forced: the totals were bulk-inserted without the ledger's change counter.
    recalculate_leaderboard(force=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"published the ranking in {time.perf_counter() - started:.1f} s")


def cleanup() -> None:
    users = User.objects.filter(username__startswith=PREFIX)
    ScoreTotal.objects.filter(user__in=users).delete()
    SocialAccount.objects.filter(user__in=users).delete()
    users.delete()


def interaction_for(discord_id: int, answered: list[float]):
    interaction = MagicMock()
    interaction.user.id = discord_id
    # Not deferred: the handler's answer is the first response, as when the bot answers at once.
    interaction.response.is_done = MagicMock(return_value=False)
    interaction.response.send_message = AsyncMock(
        side_effect=lambda *a, **k: answered.append(time.perf_counter())
    )
    return interaction


async def time_handler(name: str, call, runs: int, members: int) -> list[float]:
    rng = random.Random(name)
    durations = []
    for _ in range(runs):
        answered: list[float] = []
        interaction = interaction_for(FIRST_DISCORD_ID + rng.randrange(members), answered)
        started = time.perf_counter()
        await call(interaction)
        durations.append((answered[0] - started) * 1000)
    return durations


def report(name: str, durations: list[float]) -> None:
    ordered = sorted(durations)
    p95 = ordered[max(0, round(len(ordered) * 0.95) - 1)]
    print(
        f"{name:<16} runs={len(ordered):>4}  p50={statistics.median(ordered):6.2f} ms  "
        f"p95={p95:6.2f} ms  max={ordered[-1]:6.2f} ms"
    )


async def measure(members: int, runs: int) -> None:
    # Wall-clock figures on a shared machine: the load says how much of them is waiting for a CPU.
    print("load average (1, 5, 15 min): " + ", ".join(f"{load:.2f}" for load in os.getloadavg()))
    cog = LeaderboardCog(MagicMock())
    cases = {
        "/leaderboard": lambda i: LeaderboardCog.leaderboard.callback(cog, i, period="all", limit=10),
        "/leaderboard 25": lambda i: LeaderboardCog.leaderboard.callback(cog, i, period="all", limit=25),
        "/rank": lambda i: LeaderboardCog.rank.callback(cog, i, member=None),
    }
    for name, call in cases.items():
        await time_handler(name, call, 20, members)  # warm-up: connection, caches
        report(name, await time_handler(name, call, runs, members))


def count_queries(members: int) -> None:
    """Database round trips of one call of each handler's ORM part (the machine-independent figure)."""
    rng = random.Random("queries")
    calls = {
        "/leaderboard": lambda discord_id: leaderboard_page(discord_id=discord_id, period="all", limit=10),
        "/rank": lambda discord_id: rank_view(
            caller_discord_id=discord_id, member_discord_id=None, member_name=None
        ),
    }
    for name, call in calls.items():
        counts = []
        for _ in range(20):
            with CaptureQueriesContext(connection) as queries:
                call(FIRST_DISCORD_ID + rng.randrange(members))
            counts.append(len(queries))
        print(f"{name:<16} database queries per call: {min(counts)}–{max(counts)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument(
        "--no-cleanup", action="store_true", help="leave the rows (the database is dropped afterwards anyway)"
    )
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    cleanup()
    seed(args.members)
    try:
        asyncio.run(measure(args.members, args.runs))
        count_queries(args.members)
    finally:
        if not args.no_cleanup:
            cleanup()


if __name__ == "__main__":
    main()

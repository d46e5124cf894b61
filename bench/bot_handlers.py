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
from datetime import UTC, datetime, timedelta
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
    users = User.objects.bulk_create(
        [User(username=f"{PREFIX}{n}", display_name=f"Player {n:,}", password="!") for n in range(members)],
        batch_size=5000,
    )
    SocialAccount.objects.bulk_create(
        [
            SocialAccount(user=user, provider="discord", uid=str(FIRST_DISCORD_ID + n), extra_data={})
            for n, user in enumerate(users)
        ],
        batch_size=5000,
    )
    now = datetime.now(UTC)
    rng = random.Random(6)
    ScoreTotal.objects.bulk_create(
        [
            ScoreTotal(
                user=user,
                period=Period.ALL,
                period_start=ALL_TIME_START,
                score=rng.randint(0, 1_000_000),
                reached_at=now - timedelta(seconds=rng.randint(0, 10**7)),
            )
            for user in users
        ],
        batch_size=5000,
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
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    cleanup()
    seed(args.members)
    try:
        asyncio.run(measure(args.members, args.runs))
        count_queries(args.members)
    finally:
        cleanup()


if __name__ == "__main__":
    main()

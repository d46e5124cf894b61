"""Benchmark of role sync against the fake Discord with Discord-like rate limits; prints figures.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> REDIS_URL=redis://127.0.0.1:6379/<n> \\
        DEBUG=true python bench/role_sync.py [--members 10000] [--plan-members 100000] \\
        [--route-limit 10 --route-window 1]

It migrates the database it is given, then works inside one transaction that is rolled back at the
end, so it leaves no rows behind. Governor state goes to Redis under a fresh bot token.

Figures:
1. 10 000 linked members, nothing changed: mutating calls (must be 0) and the reads made.
2. 1 % of them newly reaching a milestone: mutating calls (must be exactly that many), and the
   throughput against the fake's limit on the member-role route (10 per second per guild here,
   Discord-like but shortened from Discord's windows so the run takes seconds) and the 50/s global
   limit, with the 429s per bucket window.
3. Planning time for 100 000 members: the database read of the links and the diff itself.
"""

import argparse
import secrets
import sys
import time

from common import setup_django

setup_django()

from allauth.socialaccount.models import SocialAccount  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import User  # noqa: E402
from discord_sandbox import GUILD_ID, FakeDiscordServer  # noqa: E402
from leaderboard import services as leaderboard_services  # noqa: E402
from rolesync import planner, selectors, services  # noqa: E402
from rolesync.models import Milestone, MilestoneTrack  # noqa: E402

MEMBER_ROLES = "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"
ROUTE_LIMIT, ROUTE_WINDOW = 10, 1.0


class Rollback(Exception):
    pass


real_standings = selectors.standings_by_period


def create_linked_users(count: int, *, prefix: str, first_id: int) -> list[tuple[int, str]]:
    users = User.objects.bulk_create(
        [User(username=f"{prefix}{n}", password="!") for n in range(count)], batch_size=5000
    )
    accounts = SocialAccount.objects.bulk_create(
        [
            SocialAccount(user=user, provider="discord", uid=str(first_id + n), extra_data={})
            for n, user in enumerate(users)
        ],
        batch_size=5000,
    )
    return [(a.user_id, a.uid) for a in accounts]


def mutating(fake) -> list:
    return [r for r in fake.requests if r.method in ("PUT", "DELETE", "PATCH", "POST")]


def run_sync() -> tuple[object, float]:
    began = time.perf_counter()
    run = services.execute_run(run_id=services.create_full_run(trigger="command").pk)
    return run, time.perf_counter() - began


def bench_sync(server: FakeDiscordServer, members: int, *, limit: int, window: float) -> None:
    fake = server.state
    top100 = fake.add_role(GUILD_ID, name="Top 100", position=4)["id"]
    track = MilestoneTrack.objects.create(name="Rank tiers", exclusive=True)
    Milestone.objects.create(track=track, name="Top 100", discord_role_id=top100, max_rank=members)
    linked = create_linked_users(members, prefix="bench-sync-", first_id=1800000000000000000)
    changed = members // 100
    standings = {"all": {}}
    # Everyone but the last 1 % already holds the role they earned.
    for n, (user_id, discord_id) in enumerate(linked):
        fake.add_user(discord_id, username=f"bench{n}")
        holds = n < members - changed
        fake.add_member(GUILD_ID, discord_id, roles=[top100] if holds else [])
        if holds:
            standings["all"][user_id] = planner.Standing(n + 1, 0)
    selectors.standings_by_period = lambda periods: standings
    fake.set_rate_limit("PUT", MEMBER_ROLES, limit=limit, window=window)
    fake.set_rate_limit("DELETE", MEMBER_ROLES, limit=limit, window=window)

    fake.requests.clear()
    run, elapsed = run_sync()
    reads = len(fake.requests)
    print(
        f"[1] {members} linked members, nothing changed: {len(mutating(fake))} mutating calls, "
        f"{reads} reads (member pages of 1000), run {run.status} in {elapsed:.2f} s"
    )

    for n in range(members - changed, members):
        standings["all"][linked[n][0]] = planner.Standing(n + 1, 0)
    fake.requests.clear()
    fake.ratelimit_hits.clear()
    run, elapsed = run_sync()
    calls = mutating(fake)
    first, last = calls[0].time, calls[-1].time
    # The fake counts fixed windows from a bucket's first request: at best every window spanned is full.
    windows = int((last - first) // window) + 1
    allowed = windows * limit
    hits = sum(fake.ratelimit_hits.values())
    print(
        f"[2] {changed} members changed (1 %): {len(calls)} mutating calls, run {run.status}, "
        f"applied {run.applied}, 429s seen {run.rate_limited_count}"
    )
    print(
        f"    throughput: {len(calls)} calls in {windows} windows of {window:g} s where "
        f"{limit} per window are allowed = {100 * len(calls) / allowed:.1f} % of the allowed rate "
        f"({len(calls) / max(last - first, 1e-9):.2f} calls/s between first and last call); "
        f"{hits} 429s = {hits / windows:.2f} per bucket window; whole run {elapsed:.2f} s"
    )


def bench_planning(count: int) -> None:
    roles = [str(1900000000000000000 + n) for n in range(4)]
    track = MilestoneTrack.objects.create(name="Bench tiers", exclusive=True)
    for n, max_rank in enumerate([10, 100, 1000]):
        Milestone.objects.create(
            track=track, name=f"Top {max_rank}", discord_role_id=roles[n], max_rank=max_rank
        )
    score = MilestoneTrack.objects.create(name="Bench score", exclusive=False)
    Milestone.objects.create(track=score, name="1k", discord_role_id=roles[3], min_score=1000)
    began = time.perf_counter()
    linked = create_linked_users(count, prefix="bench-plan-", first_id=1810000000000000000)
    now = timezone.now()
    for start in range(0, count, 10_000):
        leaderboard_services.record_score_events(
            origin="bench",
            events=[
                {
                    "external_id": f"bench-{n}",
                    "user_id": user_id,
                    "points": 20_000 - n % 20_000,
                    "kind": "bench",
                    "occurred_at": now,
                }
                for n, (user_id, _) in enumerate(linked[start : start + 10_000], start=start)
            ],
        )
    leaderboard_services.recalculate_leaderboard(force=True)
    setup = time.perf_counter() - began
    print(f"    (set-up: {count} users, links, score events and snapshots in {setup:.1f} s)")
    members = [
        planner.GuildMember(discord_id, [roles[0]] if n % 7 == 0 else [], f"bench{n}")
        for n, (_, discord_id) in enumerate(linked)
    ]

    selectors.standings_by_period = real_standings
    began = time.perf_counter()
    membership = selectors.membership()
    tracks = selectors.milestone_tracks()
    standings = selectors.standings_by_period({m.period for t in tracks for m in t.milestones})
    read = time.perf_counter() - began
    began = time.perf_counter()
    plan = planner.plan_changes(
        tracks=tracks,
        standings=standings,
        linked=membership.linked,
        untouchable=membership.untouchable,
        members=members,
    )
    diff = time.perf_counter() - began
    print(
        f"[3] planning {count} members: links, milestones and standings read in {read:.2f} s, "
        f"diff in {diff:.2f} s, "
        f"total {read + diff:.2f} s -> {len(plan.changes)} changes for {plan.members_changed} members"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--plan-members", type=int, default=100_000)
    parser.add_argument("--route-limit", type=int, default=ROUTE_LIMIT, help="member-role calls per window")
    parser.add_argument("--route-window", type=float, default=ROUTE_WINDOW, help="window in seconds")
    args = parser.parse_args()
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"] or not settings.REDIS_URL:
        sys.exit("Set DATABASE_URL (PostgreSQL) and REDIS_URL: the bench measures the real stores.")
    call_command("migrate", verbosity=0)

    server = FakeDiscordServer().start()
    server.state.bot_token = f"bench-{secrets.token_hex(8)}.Bot.Token"
    settings.DISCORD_API_BASE_URL = server.base_url
    settings.DISCORD_BOT_TOKEN = server.state.bot_token
    settings.DISCORD_GUILD_ID = GUILD_ID
    settings.ROLE_SYNC_BRAKE_MIN_CHANGES = 10**9  # the bench measures calls, not the brake
    try:
        with transaction.atomic():
            bench_sync(server, args.members, limit=args.route_limit, window=args.route_window)
            bench_planning(args.plan_members)
            raise Rollback
    except Rollback:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()

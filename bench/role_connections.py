"""Benchmark of Linked Roles pushes against the fake Discord's per-token limits; prints figures.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> REDIS_URL=redis://127.0.0.1:6379/<n> \\
        DEBUG=true python bench/role_connections.py [--members 100000] [--changed-share 0.01] [--full-push]

It migrates the database it is given, then works inside one transaction that is rolled back at the
end, so it leaves no rows behind. Governor state goes to Redis under a fresh bot token.

Set-up: `--members` linked members (users, Discord accounts and Fernet-encrypted tokens by bulk_create),
each with a real grant of `identify email role_connections.write` at the fake (added to its state in
process: the PUTs authenticate with those tokens), the metadata schema registered at the fake, scores
through `leaderboard.services.record_score_events` (batches of 10 000) and `recalculate_leaderboard()`.
The steady state "everyone pushed" is written directly: each member's `RoleConnection` row (and the
fake's stored connection) set to their desired values, instead of 100 000 PUTs (`--full-push` pushes
them through `services.push_changed()` instead).

Figures:
1. Nothing changed: `services.push_changed()` makes no call (must be 0 PUTs); its planning time.
2. 1 % of the members changed (1 000 of 100 000): every member's score is distinct and 2 points from
   the next, so one more point for a member changes their `points_all_time` and nothing else: not their
   rank (all time or this month), not anyone else's. The pass (`services.push_changed()`, no limit) must
   make exactly that many PUTs with no 429 at the fake (5 requests / 5 s per token on the role-connection
   routes); printed: planning time, push wall time, PUTs/s, load average.
3. Nothing changed again after it: 0 PUTs.

Exits 1 if a PUT count or the 429 count is not the required one; no wall-clock time is asserted.
"""

import argparse
import os
import secrets
import sys
import time
from datetime import timedelta

from common import setup_django
from cryptography.fernet import Fernet

setup_django(DISCORD_TOKEN_ENCRYPTION_KEY=Fernet.generate_key().decode())

from allauth.socialaccount.models import SocialAccount  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import DiscordToken, User  # noqa: E402
from discord_sandbox import APPLICATION_ID, CLIENT_SECRET, GUILD_ID, FakeDiscordServer  # noqa: E402
from discord_sandbox.state import FakeDiscordState, OAuthGrant  # noqa: E402
from leaderboard import services as leaderboard_services  # noqa: E402
from leaderboard.models import ScoreEvent, ScoreTotal  # noqa: E402
from linkedroles import metadata, selectors, services  # noqa: E402
from linkedroles.models import RoleConnection  # noqa: E402

ROLE_CONNECTION = "/users/@me/applications/{application_id}/role-connection"
SCOPES = "identify email role_connections.write"
FIRST_DISCORD_ID = 1820000000000000000
BATCH = 10_000


class Rollback(Exception):
    pass


class IndexedState(FakeDiscordState):
    """The fake's state with its bearer-token lookup indexed: `grant_by(access_token=)` scans every grant,
    which with 100 000 grants costs the fake ~10 ms per request (printed). Same answers: a revoked grant
    or a rotated token is not found."""

    def reset(self) -> None:
        self._by_access_token: dict[str, OAuthGrant] = {}
        super().reset()

    def issue_tokens(self, grant: OAuthGrant) -> dict:
        tokens = super().issue_tokens(grant)
        with self.lock:
            self._by_access_token[grant.access_token] = grant
        return tokens

    def grant_by(self, *, code=None, access_token=None, refresh_token=None):
        if access_token and not code and not refresh_token:
            grant = self._by_access_token.get(access_token)
            if grant is None or grant.revoked or grant.access_token != access_token:
                return None
            return grant
        return super().grant_by(code=code, access_token=access_token, refresh_token=refresh_token)


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def create_linked_members(fake: IndexedState, count: int) -> list[tuple[int, str]]:
    """`count` members linked with a live grant at the fake; returns (user id, Discord id) by member."""
    users = User.objects.bulk_create(
        [User(username=f"bench-lr-{n}", password="!") for n in range(count)], batch_size=5000
    )
    accounts = SocialAccount.objects.bulk_create(
        [
            SocialAccount(user=user, provider="discord", uid=str(FIRST_DISCORD_ID + n), extra_data={})
            for n, user in enumerate(users)
        ],
        batch_size=5000,
    )
    now = timezone.now()
    tokens = []
    with fake.lock:
        for n, account in enumerate(accounts):
            fake.add_user(account.uid, username=f"benchlr{n}")
            # What grant_tokens does without its authorization code lookup (a scan of every grant).
            grant = OAuthGrant(
                user_id=account.uid,
                scope=SCOPES,
                redirect_uri="http://testserver/accounts/discord/callback/",
                code=None,
                code_expires_at=0.0,
                code_used=True,
            )
            fake.grants.append(grant)
            issued = fake.issue_tokens(grant)
            tokens.append(
                DiscordToken(
                    social_account=account,
                    access_token_encrypted=issued["access_token"],
                    refresh_token_encrypted=issued["refresh_token"],
                    expires_at=now + timedelta(seconds=issued["expires_in"]),
                    scope=issued["scope"],
                )
            )
    DiscordToken.objects.bulk_create(tokens, batch_size=5000)
    return [(account.user_id, account.uid) for account in accounts]


def score_events(members, points_of, *, prefix: str):
    now = timezone.now()
    for start in range(0, len(members), BATCH):
        leaderboard_services.record_score_events(
            origin="bench",
            events=[
                {
                    "external_id": f"{prefix}-{n}",
                    "user_id": user_id,
                    "points": points_of(n),
                    "kind": "bench",
                    "occurred_at": now,
                }
                for n, (user_id, _) in enumerate(members[start : start + BATCH], start=start)
            ],
        )
        reset_queries()


def recalculate(**kwargs) -> None:
    leaderboard_services.recalculate_leaderboard(**kwargs)


BENCH_TABLES = [
    model._meta.db_table
    for model in (User, SocialAccount, DiscordToken, RoleConnection, ScoreEvent, ScoreTotal)
]


def vacuum() -> None:
    """Before the transaction: the rolled-back rows of earlier runs are dead tuples every scan still reads."""
    with connection.cursor() as cursor:
        for table in BENCH_TABLES:
            cursor.execute(f'VACUUM (ANALYZE) "{table}"')


def analyze() -> None:
    """Inside the transaction, after the bulk load: statistics as production tables have them (ANALYZE
    counts the transaction's own rows; autovacuum never sees them)."""
    with connection.cursor() as cursor:
        for table in BENCH_TABLES:
            cursor.execute(f'ANALYZE "{table}"')


def mark_pushed(fake: IndexedState) -> int:
    """Everyone pushed: RoleConnection rows and the fake's connections equal to the desired values."""
    desired = selectors.desired_connections()
    now = timezone.now()
    RoleConnection.objects.bulk_create(
        [
            RoleConnection(
                user_id=push.user_id,
                pushed_metadata=push.metadata,
                pushed_username=push.platform_username,
                pushed_at=now,
                push_count=1,
            )
            for push in desired
        ],
        batch_size=5000,
    )
    discord_ids = dict(
        SocialAccount.objects.filter(
            provider="discord", user_id__in=[p.user_id for p in desired]
        ).values_list("user_id", "uid")
    )
    with fake.lock:
        for push in desired:
            fake.store_role_connection(
                discord_ids[push.user_id],
                {
                    "platform_name": metadata.PLATFORM_NAME,
                    "platform_username": push.platform_username,
                    "metadata": dict(push.metadata),
                },
            )
    return len(desired)


def clear_log(fake: IndexedState) -> dict[str, int]:
    with fake.lock:
        fake.requests.clear()
        fake.ratelimit_hits.clear()
        return dict(fake.role_connection_puts)


def pass_figures(fake: IndexedState, puts_before: dict[str, int]) -> dict:
    with fake.lock:
        requests = list(fake.requests)
        hits = sum(fake.ratelimit_hits.values())
        stored = {uid: n - puts_before.get(uid, 0) for uid, n in fake.role_connection_puts.items()}
    puts = [r for r in requests if r.method == "PUT" and r.route == ROLE_CONNECTION]
    return {
        "requests": len(requests),
        "puts": len(puts),
        "stored": {uid: n for uid, n in stored.items() if n},
        "status_429": sum(1 for r in requests if r.status == 429),
        "ratelimit_hits": hits,
        "not_ok": sum(1 for r in requests if r.status >= 400 and r.status != 429),
    }


def timed_pass() -> tuple[services.PushReport, float]:
    began = time.perf_counter()
    report = services.push_changed()
    return report, time.perf_counter() - began


def planning_breakdown() -> str:
    """Where the planning time goes, piece by piece (the same reads desired_connections makes)."""
    from accounts.selectors import discord_links_granting
    from credits.selectors import credits_earned_by_user
    from leaderboard.periods import Period
    from leaderboard.selectors import latest_snapshot_rows

    parts = []

    def timed(name, call):
        began = time.perf_counter()
        result = call()
        parts.append(f"{name} {time.perf_counter() - began:.2f} s")
        return result

    timed("links", lambda: discord_links_granting(selectors.SCOPE))
    timed("all-time standings", lambda: list(latest_snapshot_rows(Period.ALL)))
    timed("month standings", lambda: list(latest_snapshot_rows(Period.MONTH)))
    timed("credits earned", credits_earned_by_user)
    timed(
        "pushed rows",
        lambda: list(
            RoleConnection.objects.values_list(
                "user_id", "pushed_metadata", "pushed_username", "rejected_metadata"
            )
        ),
    )
    began = time.perf_counter()
    desired = selectors.desired_connections()
    whole = time.perf_counter() - began
    began = time.perf_counter()
    changed = [push for push in desired if push.changed]
    diff = time.perf_counter() - began
    return (
        f"{', '.join(parts)}; desired_connections {whole:.2f} s, diff {diff:.2f} s ({len(changed)} changed)"
    )


def main() -> None:  # noqa: C901 (one straight run of figures and checks)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument(
        "--changed-share", type=float, default=0.01, help="share of members whose values change"
    )
    parser.add_argument(
        "--full-push",
        action="store_true",
        help="reach the steady state by pushing everyone through the fake (slow) instead of writing rows",
    )
    args = parser.parse_args()
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"] or not settings.REDIS_URL:
        sys.exit("Set DATABASE_URL (PostgreSQL) and REDIS_URL: the bench measures the real stores.")
    call_command("migrate", verbosity=0)
    if not selectors.linked_roles_enabled():
        sys.exit("Linked Roles are switched off (LINKED_ROLES_ENABLED or the kill switch).")

    fake = IndexedState()
    server = FakeDiscordServer(state=fake).start()
    fake.bot_token = f"bench-{secrets.token_hex(8)}.Bot.Token"
    settings.DISCORD_API_BASE_URL = server.base_url
    settings.DISCORD_BOT_TOKEN = fake.bot_token
    settings.DISCORD_CLIENT_ID = APPLICATION_ID
    settings.DISCORD_CLIENT_SECRET = CLIENT_SECRET
    settings.DISCORD_GUILD_ID = GUILD_ID
    count = args.members
    changed_count = round(count * args.changed_share)
    step = max(count // max(changed_count, 1), 1)
    problems = []
    print(
        f"role connections: {count} linked members, {changed_count} to change; {os.cpu_count()} CPUs, "
        f"load average {load()}",
        flush=True,
    )
    vacuum()
    try:
        with transaction.atomic():
            began = time.perf_counter()
            # `make bench` shares its scratch database, where bot_handlers leaves ranked members behind: the
            # ranks here must be this bench's members' alone, or one more point can pass somebody else's
            # odd score (a rank change the checks below would rightly report). Rolled back with the rest.
            others = ScoreTotal.objects.all().delete()[0]
            if others:
                print(f"    (set aside {others} score totals of other members in this database)", flush=True)
            services.register_metadata()
            members = create_linked_members(fake, count)
            linked = time.perf_counter() - began
            # Distinct scores 2 apart (2, 4, ... 2 * count): one more point never changes an order.
            score_events(members, lambda n: 2 * (count - n), prefix="bench-lr")
            recalculate(force=True)
            analyze()
            scored = time.perf_counter() - began - linked
            if args.full_push:
                report, elapsed = timed_pass()
                how = f"pushed through the fake ({report.pushed} PUTs in {elapsed:.1f} s, {report.pushed / elapsed:.0f}/s)"
                if report.pushed != count:
                    problems.append(f"the first full push made {report.pushed} PUTs, not {count}")
            else:
                written = mark_pushed(fake)
                how = f"marked as pushed: {written} RoleConnection rows written equal to the desired values (no PUT)"
            analyze()
            setup = time.perf_counter() - began
            print(
                f"    set-up {setup:.1f} s: {count} users, Discord links, encrypted tokens and grants at the "
                f"fake in {linked:.1f} s; score events, recalculation and ANALYZE in {scored:.1f} s; steady "
                f"state {how}, and ANALYZE, in {setup - linked - scored:.1f} s",
                flush=True,
            )

            # 1. Nothing changed.
            before = clear_log(fake)
            report, elapsed = timed_pass()
            seen = pass_figures(fake, before)
            print(
                f"[1] nothing changed: {seen['puts']} PUTs ({seen['requests']} requests at the fake), "
                f"planned {report.planned}, planning {report.planning_seconds:.2f} s (pass {elapsed:.2f} s); "
                f"load average {load()}",
                flush=True,
            )
            if seen["puts"] or seen["requests"] or report.planned:
                problems.append(f"nothing changed, yet {seen['puts']} PUTs / {report.planned} planned")
            print(f"    planning breakdown: {planning_breakdown()}", flush=True)

            # 2. One more point for every `step`-th member: their points_all_time changes, no rank does.
            chosen = members[::step][:changed_count]
            chosen_ids = {user_id for user_id, _ in chosen}
            score_events(chosen, lambda n: 1, prefix="bench-lr-plus")
            recalculate()
            before = clear_log(fake)
            report, elapsed = timed_pass()
            seen = pass_figures(fake, before)
            push_seconds = elapsed - report.planning_seconds
            planned_ids = {push.user_id for push in report.plan}
            changed_keys = set()
            for push in report.plan:
                previous = push.previous_metadata or {}
                changed_keys |= {
                    k
                    for k in push.metadata.keys() | previous.keys()
                    if push.metadata.get(k) != previous.get(k)
                }
                if push.previous_username != push.platform_username:
                    changed_keys.add("platform_username")
            puts = seen["puts"]
            print(
                f"[2] {changed_count} members changed ({100 * changed_count / count:g} %, one more point each: "
                f"only their points_all_time, every rank kept): {puts} PUTs, pushed {report.pushed}, "
                f"rejected {report.rejected}, failed {report.failed}, relink {report.relink}; 429s at the fake: {seen['status_429']} "
                f"responses, ratelimit_hits {seen['ratelimit_hits']}; other errors {seen['not_ok']}",
                flush=True,
            )
            print(
                f"    planning {report.planning_seconds:.2f} s; push {push_seconds:.2f} s = "
                f"{puts / max(push_seconds, 1e-9):.0f} PUTs/s (one at a time, each with its token read and "
                f"decrypted, the PUT, and the RoleConnection update); values changed: "
                f"{', '.join(sorted(changed_keys)) or 'none'}; load average {load()}",
                flush=True,
            )
            if puts != changed_count or report.pushed != changed_count:
                problems.append(f"{changed_count} changed, yet {puts} PUTs ({report.pushed} pushed)")
            if seen["status_429"] or seen["ratelimit_hits"]:
                problems.append(
                    f"{seen['status_429']} 429 responses, {seen['ratelimit_hits']} rate-limit hits"
                )
            if planned_ids != chosen_ids:
                problems.append(
                    f"planned {len(planned_ids)} members, {len(planned_ids ^ chosen_ids)} differ from the changed ones"
                )
            if changed_keys - {metadata.POINTS_ALL_TIME}:
                problems.append(f"values other than points_all_time changed: {sorted(changed_keys)}")
            wrong = {uid: n for uid, n in seen["stored"].items() if n != 1}
            if len(seen["stored"]) != changed_count or wrong:
                problems.append(f"the fake stored {len(seen['stored'])} connections, {len(wrong)} not once")

            # 3. Nothing changed again.
            before = clear_log(fake)
            report, elapsed = timed_pass()
            seen = pass_figures(fake, before)
            print(
                f"[3] nothing changed after it: {seen['puts']} PUTs, planning {report.planning_seconds:.2f} s",
                flush=True,
            )
            if seen["puts"] or report.planned:
                problems.append(f"after the pass, {seen['puts']} PUTs / {report.planned} planned")

            # What the stock lookup of a bearer token costs the fake with this many grants.
            token = fake.grants[-1].access_token
            began = time.perf_counter()
            FakeDiscordState.grant_by(fake, access_token=token)
            print(
                f"    (the fake's stock bearer lookup scans {len(fake.grants)} grants: "
                f"{1000 * (time.perf_counter() - began):.1f} ms per request; this bench indexes it)",
                flush=True,
            )
            raise Rollback
    except Rollback:
        pass
    finally:
        server.stop()
        connection.close()
    if problems:
        print("FAILED: " + "; ".join(problems), flush=True)
        sys.exit(1)
    print("checks: ok (PUT counts and 0 × 429 as required)", flush=True)


if __name__ == "__main__":
    main()

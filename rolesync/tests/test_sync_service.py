import datetime

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from discord_rest.client import DiscordClient
from discord_sandbox import GUILD_ID
from rolesync import errors, services
from rolesync.models import RoleSyncRun
from rolesync.tests.conftest import MEMBER_ROLES
from rolesync.tests.factories import SyncExclusionFactory

pytestmark = pytest.mark.django_db


def full_sync(client=None) -> RoleSyncRun:
    run = services.create_full_run()
    return services.execute_run(run_id=run.pk, client=client)


def test_a_sync_adds_removes_and_upgrades_only_managed_roles(guild):
    alice = guild.linked_member("alice", rank=5)
    bob = guild.linked_member("bob", roles=["Top 100", "VIP"], rank=3, score=1500)
    carol = guild.linked_member("carol", roles=["Top 10", "VIP"])

    run = full_sync()

    assert guild.role_names_of(alice.uid) == {"Top 10"}
    assert guild.role_names_of(bob.uid) == {"Top 10", "1k club", "VIP"}
    assert guild.role_names_of(carol.uid) == {"VIP"}
    assert (run.status, run.planned, run.applied, run.failed, run.skipped) == ("succeeded", 5, 5, 0, 0)
    # Only the member-role endpoints change anything, each with the audit-log reason.
    mutating = guild.mutating_requests()
    assert {r.route for r in mutating} == {MEMBER_ROLES}
    assert all(r.audit_log_reason.startswith(f"DealScale role sync #{run.pk}: ") for r in mutating)
    assert AuditEvent.objects.filter(action="role_sync.run_finished", target_id=str(run.pk)).exists()


def test_a_sync_with_nothing_to_change_makes_no_mutating_call(guild):
    guild.linked_member("alice", roles=["Top 10"], rank=5)
    guild.linked_member("bob", roles=["Top 100", "1k club"], rank=42, score=2000)
    guild.unlinked_member("visitor", roles=["VIP"])

    run = full_sync()

    assert guild.mutating_requests() == []
    assert [(r.method, r.route) for r in guild.fake.requests] == [("GET", "/guilds/{guild_id}/members")]
    assert (run.status, run.planned, run.members_checked) == ("succeeded", 0, 4)


def test_members_are_read_in_pages_of_a_thousand(guild):
    for n in range(1500):
        guild.fake.add_member(GUILD_ID, guild.fake.add_user(username=f"lurker{n}")["id"])

    run = full_sync()

    pages = guild.fake.requests_to("GET", "/guilds/{guild_id}/members")
    assert [r.query["limit"] for r in pages] == ["1000", "1000"]
    assert run.members_checked == 1501  # and the bot


def test_unlinked_members_lose_managed_roles_but_keep_the_others(guild):
    visitor = guild.unlinked_member("visitor", roles=["Top 10", "VIP"])

    full_sync()

    assert guild.role_names_of(visitor) == {"VIP"}


def test_a_deactivated_user_loses_managed_roles_and_an_excluded_one_is_left_alone(guild):
    gone = guild.linked_member("gone", roles=["Top 10"], rank=1)
    gone.user.is_active = False
    gone.user.save()
    kept = guild.linked_member("kept", roles=["Top 100"])
    SyncExclusionFactory(user=kept.user)

    full_sync()

    assert guild.role_names_of(gone.uid) == set()
    assert guild.role_names_of(kept.uid) == {"Top 100"}


def test_429_bursts_are_waited_out_and_counted_on_the_run(guild):
    members = [guild.linked_member(f"m{n}", rank=50) for n in range(3)]
    guild.fake.fail_next("PUT", MEMBER_ROLES, status=429, times=2, retry_after=0.05)

    run = full_sync()

    assert all(guild.role_names_of(m.uid) == {"Top 100"} for m in members)
    assert (run.applied, run.failed, run.rate_limited_count) == (3, 0, 2)
    assert len(guild.fake.requests_to("PUT", MEMBER_ROLES)) == 5


def test_a_global_429_pauses_and_the_run_still_finishes(guild):
    members = [guild.linked_member(f"m{n}", rank=50) for n in range(2)]
    guild.fake.fail_next(
        "PUT", MEMBER_ROLES, status=429, times=1, retry_after=0.1, is_global=True, scope="global"
    )

    run = full_sync()

    assert all(guild.role_names_of(m.uid) == {"Top 100"} for m in members)
    assert (run.applied, run.rate_limited_count) == (2, 1)


def test_learned_bucket_limits_are_respected_without_a_429(guild):
    guild.fake.set_rate_limit("PUT", MEMBER_ROLES, limit=2, window=0.3)
    for n in range(6):
        guild.linked_member(f"m{n}", rank=50)

    run = full_sync()

    assert (run.applied, run.rate_limited_count) == (6, 0)
    assert guild.fake.ratelimit_hits == {}


def test_a_sync_retries_discord_5xx(guild):
    alice = guild.linked_member("alice", rank=5)
    guild.fake.fail_next("PUT", MEMBER_ROLES, status=502, times=2)

    run = full_sync()

    assert guild.role_names_of(alice.uid) == {"Top 10"}
    assert (run.applied, run.failed) == (1, 0)
    assert len(guild.fake.requests_to("PUT", MEMBER_ROLES)) == 3


def test_a_role_above_the_bot_is_skipped_before_any_call_and_reported_once_with_the_fix(guild):
    guild.fake.state.roles[GUILD_ID][guild.roles["Top 10"]]["position"] = 50
    for n in range(3):
        guild.linked_member(f"m{n}", rank=5)
    other = guild.linked_member("other", rank=50)

    run = full_sync()

    assert guild.fake.requests_to("PUT", MEMBER_ROLES) and all(
        r.path.endswith(guild.roles["Top 100"]) for r in guild.fake.requests_to("PUT", MEMBER_ROLES)
    )
    assert guild.role_names_of(other.uid) == {"Top 100"}
    assert (run.status, run.applied, run.skipped) == ("succeeded", 1, 3)
    [error] = [e for e in run.errors if e.get("role_id") == guild.roles["Top 10"]]
    assert 'move the DealScale bot\'s role above "Top 10" in Server Settings → Roles' in error["message"]
    assert error["count"] == 3


def test_a_403_while_applying_sets_the_role_aside_instead_of_storming(guild):
    for n in range(4):
        guild.linked_member(f"m{n}", rank=5)
    guild.fake.fail_next(
        "PUT", MEMBER_ROLES, status=403, body={"message": "Missing Permissions", "code": 50013}
    )

    run = full_sync()

    assert len(guild.fake.requests_to("PUT", MEMBER_ROLES)) == 1
    assert (run.status, run.applied, run.failed, run.skipped) == ("partial", 0, 1, 3)
    messages = {e["message"] for e in run.errors}
    assert len(messages) == 1 and "Manage Roles" in messages.pop()


def test_a_member_who_left_the_guild_is_skipped(guild):
    leaver = guild.linked_member("leaver", rank=5, score=5000)
    stayer = guild.linked_member("stayer", rank=6)
    guild.fake.fail_next("PUT", MEMBER_ROLES, status=404, body={"message": "Unknown Member", "code": 10007})

    run = full_sync()

    # The leaver's second change (1k club) is not even tried.
    assert len(guild.fake.requests_to("PUT", MEMBER_ROLES)) == 2
    assert guild.role_names_of(stayer.uid) == {"Top 10"}
    assert (run.applied, run.failed, run.skipped) == (1, 0, 2)
    assert leaver.user_id in {e["user_id"] for e in run.plan}


class CrashingClient(DiscordClient):
    """A worker killed after `survive` role changes: everything after is never sent."""

    def __init__(self, survive: int):
        super().__init__()
        self.left = survive

    def add_member_role(self, *args, **kwargs):
        if self.left == 0:
            raise SystemExit("worker killed")
        self.left -= 1
        return super().add_member_role(*args, **kwargs)


def test_an_interrupted_run_is_finished_by_the_next_without_repeating_a_call(guild):
    members = [guild.linked_member(f"m{n}", rank=50) for n in range(5)]

    with pytest.raises(SystemExit):
        full_sync(client=CrashingClient(survive=2))
    interrupted = RoleSyncRun.objects.get()
    assert (interrupted.status, interrupted.applied) == ("interrupted", 2)

    run = full_sync()

    assert (run.status, run.planned, run.applied) == ("succeeded", 3, 3)
    assert all(guild.role_names_of(m.uid) == {"Top 100"} for m in members)
    puts = [r.path for r in guild.fake.requests_to("PUT", MEMBER_ROLES)]
    assert len(puts) == len(set(puts)) == 5


def test_the_brake_holds_a_mass_removal_until_staff_confirm(guild, requested_syncs):
    # The database "lost" every link: 30 holders would be stripped of their roles.
    holders = [guild.unlinked_member(f"holder{n}", roles=["Top 100"]) for n in range(30)]
    guild.linked_member("alice", roles=["Top 10"], rank=1)

    held = full_sync()

    assert held.status == "awaiting_confirmation"
    assert guild.mutating_requests() == []
    assert held.planned == len(held.plan) == 30
    assert {e["action"] for e in held.plan} == {"remove"}
    assert "safety brake" in held.errors[0]["message"]

    staff = guild.linked_member("staff").user
    follow_up = services.confirm_run(run_id=held.pk, actor=staff, source=AuditEvent.Source.ADMIN)
    assert requested_syncs() == [("rolesync.run", {"run_id": follow_up.pk})]
    held.refresh_from_db()
    assert held.status == "confirmed"

    # Meanwhile a new holder appeared: it was not in the confirmed plan, so it is not touched.
    late = guild.unlinked_member("late", roles=["Top 100"])
    done = services.execute_run(run_id=follow_up.pk)

    assert (done.status, done.applied) == ("succeeded", 30)
    assert all(guild.role_names_of(h) == set() for h in holders)
    assert guild.role_names_of(late) == {"Top 100"}
    assert AuditEvent.objects.filter(
        action="role_sync.confirmed", target_id=str(held.pk), actor=staff
    ).exists()


def test_only_a_held_run_can_be_confirmed(guild):
    run = full_sync()
    with pytest.raises(errors.RunNotAwaitingConfirmation):
        services.confirm_run(run_id=run.pk, actor=None, source=AuditEvent.Source.ADMIN)


def test_a_targeted_sync_reads_only_the_members_concerned(guild):
    alice = guild.linked_member("alice", rank=5)
    guild.linked_member("bob", rank=6)
    unlinked = guild.unlinked_member("old-account", roles=["Top 100"])

    run = services.create_targeted_run(trigger="unlink", user_ids=[alice.user_id], discord_ids=[unlinked])
    run = services.execute_run(run_id=run.pk)

    assert guild.fake.requests_to("GET", "/guilds/{guild_id}/members") == []
    assert len(guild.fake.requests_to("GET", "/guilds/{guild_id}/members/{user_id}")) == 3  # 2 + the bot
    assert guild.role_names_of(alice.uid) == {"Top 10"}
    assert guild.role_names_of(unlinked) == set()
    assert run.planned == 2


def test_a_paused_sync_records_the_run_and_calls_nothing(guild, settings):
    settings.ROLE_SYNC_ENABLED = False
    guild.linked_member("alice", rank=5)

    run = full_sync()

    assert run.status == "paused"
    assert guild.fake.requests == []


def test_a_long_rate_limit_stops_the_run_and_leaves_the_rest_to_the_next(guild):
    members = [guild.linked_member(f"m{n}", rank=50) for n in range(3)]
    guild.fake.fail_next("PUT", MEMBER_ROLES, status=429, retry_after=600, scope="shared")

    run = full_sync()

    assert (run.status, run.applied, run.skipped) == ("partial", 0, 3)
    assert len(guild.fake.requests_to("PUT", MEMBER_ROLES)) == 1
    assert "left to the next run" in run.errors[0]["message"]
    assert not any(guild.role_names_of(m.uid) for m in members)


def test_a_guild_that_cannot_be_read_fails_the_run_without_changing_anything(guild):
    guild.unlinked_member("holder", roles=["Top 10"])
    guild.fake.fail_next("GET", "/guilds/{guild_id}/members", status=503, times=10)

    run = full_sync()

    assert run.status == "failed"
    assert guild.mutating_requests() == []
    assert "Could not read the guild" in run.errors[0]["message"]


def test_a_run_abandoned_by_a_dead_worker_is_closed_by_the_next_full_run(guild):
    dead = RoleSyncRun.objects.create(
        trigger="schedule", status="running", started_at=timezone.now() - datetime.timedelta(minutes=10)
    )

    full_sync()

    dead.refresh_from_db()
    assert dead.status == "interrupted"


def test_the_shared_global_limit_keeps_a_burst_under_discords_global_limit(guild, settings):
    settings.DISCORD_GLOBAL_RATE_LIMIT = 4
    guild.fake.state.global_limit = 4
    members = [guild.linked_member(f"m{n}", rank=50, score=2000) for n in range(5)]

    run = full_sync()

    assert (run.applied, run.rate_limited_count) == (10, 0)
    assert "global" not in guild.fake.ratelimit_hits
    assert all(guild.role_names_of(m.uid) == {"Top 100", "1k club"} for m in members)

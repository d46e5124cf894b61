"""The doors of role sync: the dry run, the staff API, the admin action, the tasks and the hooks."""

import pytest
from celery.exceptions import Retry
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from accounts.models import AuditEvent
from accounts.services import create_api_token, unlink_discord
from accounts.signals import discord_linked, discord_unlinked
from accounts.tests.factories import DiscordAccountFactory
from dealscale import outbox
from dealscale.locks import single_flight
from rolesync import services, tasks
from rolesync.models import RoleSyncRun
from rolesync.tests.conftest import MEMBER_ROLES
from rolesync.tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(requested_syncs):
    """The role syncs the code under test wrote to the outbox."""
    return requested_syncs


# --- dry run ----------------------------------------------------------------------------------
def test_a_dry_run_prints_the_plan_and_changes_nothing(guild, capsys):
    alice = guild.linked_member("alice", rank=5)
    bob = guild.linked_member("bob", roles=["Top 100"])

    call_command("sync_roles", "--dry-run")

    out = capsys.readouterr().out
    assert f'+ alice ({alice.uid}) gains "Top 10"' in out
    assert f'- bob ({bob.uid}) loses "Top 100"' in out
    assert "1 role(s) to add and 1 to remove for 2 member(s)" in out
    assert guild.mutating_requests() == []
    assert not RoleSyncRun.objects.exists()


def test_a_dry_run_for_one_user_reads_only_that_member(guild, capsys):
    alice = guild.linked_member("alice", rank=5)
    guild.linked_member("bob", rank=6)

    call_command("sync_roles", "--dry-run", "--user", str(alice.user_id))

    out = capsys.readouterr().out
    assert "alice" in out and "bob" not in out
    assert guild.fake.requests_to("GET", "/guilds/{guild_id}/members") == []


def test_sync_roles_applies_and_reports_the_run(guild, capsys):
    alice = guild.linked_member("alice", rank=5)

    call_command("sync_roles")

    run = RoleSyncRun.objects.get()
    assert (run.trigger, run.status, run.applied) == ("command", "succeeded", 1)
    assert guild.role_names_of(alice.uid) == {"Top 10"}
    assert f"Role sync #{run.pk}: succeeded. Planned 1, applied 1" in capsys.readouterr().out


# --- API --------------------------------------------------------------------------------------
URL = "/admin/discord/sync-roles"


def post(token=None, data=None):
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.post(URL, data or {}, format="json")


def test_the_api_refuses_anonymous_callers_with_401():
    response = post()
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_the_api_refuses_members_who_are_not_staff(queued):
    _, member_key = create_api_token(user=UserFactory())
    response = post(member_key)
    assert response.status_code == 403
    assert response.json()["detail"] == "Only staff can start a role sync."
    assert queued() == [] and not RoleSyncRun.objects.exists()


def test_the_api_queues_a_run_for_permitted_staff(queued, django_capture_on_commit_callbacks):
    staff = StaffFactory()
    _, key = create_api_token(user=staff)

    with django_capture_on_commit_callbacks(execute=True):
        response = post(key)

    run = RoleSyncRun.objects.get()
    assert response.status_code == 202
    assert response.json() == {"run_id": run.pk, "status": "queued"}
    assert (run.trigger, run.requested_by, run.is_targeted) == ("api", staff, False)
    assert queued() == [("rolesync.run", {"run_id": run.pk})]
    assert AuditEvent.objects.filter(action="role_sync.requested", actor=staff, source="api").exists()


def test_the_api_can_target_users_and_rejects_bad_input(queued):
    _, key = create_api_token(user=StaffFactory(is_superuser=True, permissions=[]))

    targets = [UserFactory().pk, UserFactory().pk]
    assert post(key, {"user_ids": targets}).status_code == 202
    assert RoleSyncRun.objects.get().target_user_ids == targets
    response = post(key, {"user_ids": ["x"]})
    assert response.status_code == 400
    assert "user_ids" in response.json()


@pytest.mark.parametrize("user_id", [999999, 10**30])
def test_the_api_answers_400_for_an_unknown_or_out_of_range_user_id(queued, user_id):
    _, key = create_api_token(user=StaffFactory(is_superuser=True, permissions=[]))

    response = post(key, {"user_ids": [UserFactory().pk, user_id]})

    assert response.status_code == 400
    assert list(response.json()) == ["user_ids"]
    assert queued() == [] and not RoleSyncRun.objects.exists()


def test_the_api_names_the_unknown_user_ids(queued):
    _, key = create_api_token(user=StaffFactory(is_superuser=True, permissions=[]))

    response = post(key, {"user_ids": [999999, 999998]})

    assert response.json() == {"user_ids": ["No user with id 999998, 999999."]}


@pytest.mark.parametrize("dry_run", [True, False])
def test_sync_roles_refuses_an_unknown_user(guild, dry_run):
    args = ["--dry-run"] if dry_run else []

    with pytest.raises(CommandError, match="No user with id 999999"):
        call_command("sync_roles", *args, "--user", "999999")
    assert not RoleSyncRun.objects.exists()


# --- tasks ------------------------------------------------------------------------------------
def test_the_beat_task_runs_a_full_sync(guild):
    alice = guild.linked_member("alice", rank=5)

    tasks.sync_roles()

    assert RoleSyncRun.objects.get().trigger == "schedule"
    assert guild.role_names_of(alice.uid) == {"Top 10"}


def test_the_beat_task_never_runs_twice_at_once(guild):
    guild.linked_member("alice", rank=5)
    with single_flight(tasks.ROLE_SYNC_LOCK, ttl_seconds=60) as acquired:
        assert acquired
        tasks.sync_roles()
    assert not RoleSyncRun.objects.exists()
    assert guild.mutating_requests() == []


# --- hooks ------------------------------------------------------------------------------------
def test_an_unlink_queues_a_removal_sync_for_the_old_discord_id(queued, django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        discord_unlinked.send(sender=None, user=user, discord_id="1650000000000000000")
    assert queued() == [
        (
            "rolesync.sync_members",
            {"trigger": "unlink", "user_ids": [user.pk], "discord_ids": ["1650000000000000000"]},
        )
    ]


def test_a_link_queues_a_sync_for_that_member(queued, django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        discord_linked.send(sender=None, user=user, discord_id="1650000000000000001")
    assert queued() == [
        (
            "rolesync.sync_members",
            {"trigger": "link", "user_ids": [user.pk], "discord_ids": ["1650000000000000001"]},
        )
    ]


def test_deactivating_a_linked_user_queues_the_removal_of_their_roles(
    queued, django_capture_on_commit_callbacks
):
    account = DiscordAccountFactory()
    unlinked_user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        account.user.is_active = False
        account.user.save()
        unlinked_user.is_active = False
        unlinked_user.save()
    assert queued() == [
        (
            "rolesync.sync_members",
            {"trigger": "deactivation", "user_ids": [account.user_id], "discord_ids": [account.uid]},
        )
    ]


def test_the_unlink_sync_removes_the_managed_roles(guild, outbox_worker):
    account = guild.linked_member("leaving", roles=["Top 10", "VIP"], rank=1)
    uid, user_id = account.uid, account.user_id
    account.delete()

    # As a message queued before the outbox would: written to the outbox, delivered from there.
    tasks.sync_roles_for_users([user_id], "unlink", [uid])
    outbox_worker.run()

    assert guild.role_names_of(uid) == {"VIP"}
    assert len(guild.fake.requests_to("DELETE", MEMBER_ROLES)) == 1
    assert RoleSyncRun.objects.get().trigger == "unlink"


def test_a_queued_run_waits_for_the_running_one_instead_of_being_dropped(guild):
    run = RoleSyncRun.objects.create(trigger="api")
    with single_flight(tasks.ROLE_SYNC_LOCK, ttl_seconds=60):
        with pytest.raises(Retry):
            tasks.sync_roles(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "queued"


def test_a_queued_run_in_the_outbox_waits_for_the_running_one_then_runs(guild, outbox_worker):
    guild.linked_member("alice", rank=5)
    run = services.queue_run(trigger="api", source=AuditEvent.Source.API)
    [entry] = outbox_worker.entries("rolesync.run")
    with single_flight(tasks.ROLE_SYNC_LOCK, ttl_seconds=60):
        assert outbox.deliver(entry.pk) == "pending"
    entry.refresh_from_db()
    assert "Another role sync is running" in entry.last_error
    run.refresh_from_db()
    assert run.status == "queued"

    outbox_worker.drain()
    run.refresh_from_db()
    assert run.status == "succeeded"


def test_a_run_whose_worker_died_is_finished_by_a_follow_up_run(guild, outbox_worker):
    alice = guild.linked_member("alice", rank=5)
    run = services.queue_run(trigger="api", source=AuditEvent.Source.API)
    # The first worker started it, then died: the run still reads "running".
    RoleSyncRun.objects.filter(pk=run.pk).update(status="running")

    outbox_worker.run()

    run.refresh_from_db()
    follow_up = RoleSyncRun.objects.exclude(pk=run.pk).get()
    assert run.status == "interrupted"
    assert (follow_up.trigger, follow_up.status) == ("api", "succeeded")
    assert guild.role_names_of(alice.uid) == {"Top 10"}


def test_unlinking_through_the_accounts_service_removes_the_managed_roles(guild, outbox_worker):
    account = guild.linked_member("leaving", roles=["Top 10", "VIP"], rank=1)
    account.user.set_password("pw-123456789")
    account.user.save()

    unlink_discord(user=account.user, actor=account.user, source=AuditEvent.Source.WEB)
    outbox_worker.run()

    assert guild.role_names_of(account.uid) == {"VIP"}
    assert RoleSyncRun.objects.get().trigger == "unlink"


def test_sync_roles_refuses_to_overlap_a_running_sync(guild):
    guild.linked_member("alice", rank=5)
    with single_flight(tasks.ROLE_SYNC_LOCK, ttl_seconds=60):
        with pytest.raises(CommandError, match="A role sync is running"):
            call_command("sync_roles")
    assert guild.mutating_requests() == []

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.models import AuditEvent
from discord_sandbox import GUILD_ID
from rolesync.models import Milestone, RoleSyncRun, SyncExclusion
from rolesync.tests.factories import StaffFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(StaffFactory(is_superuser=True))
    return client


@pytest.fixture
def queued(requested_syncs):
    return lambda: [payload for _, payload in requested_syncs()]


def save_track(admin_client, track, *milestones):
    form = {
        "name": track.name,
        "exclusive": "on",
        "position": 0,
        "milestones-TOTAL_FORMS": len(milestones),
        "milestones-INITIAL_FORMS": 0,
        "milestones-MIN_NUM_FORMS": 0,
        "milestones-MAX_NUM_FORMS": 1000,
    }
    for i, (name, role_id) in enumerate(milestones):
        form.update(
            {
                f"milestones-{i}-name": name,
                f"milestones-{i}-discord_role_id": role_id,
                f"milestones-{i}-period": "all",
                f"milestones-{i}-max_rank": 10,
                f"milestones-{i}-position": i,
            }
        )
    return admin_client.post(reverse("admin:rolesync_milestonetrack_change", args=[track.pk]), form)


def warnings_of(response):
    return [str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "warning"]


def test_saving_a_milestone_warns_when_the_bot_cannot_assign_its_role(
    admin_client, fake_discord, queued, django_capture_on_commit_callbacks
):
    above = fake_discord.add_role(name="Owners", position=50)["id"]
    below = fake_discord.add_role(name="Top 10", position=5)["id"]
    track = TrackFactory()

    with django_capture_on_commit_callbacks(execute=True):
        response = save_track(
            admin_client, track, ("Top 10", below), ("Legend", above), ("Ghost", "1999999999999999999")
        )

    assert response.status_code == 302
    assert Milestone.objects.count() == 3
    warnings = warnings_of(response)
    assert len(warnings) == 2
    assert any('move the DealScale bot\'s role above "Owners"' in w for w in warnings)
    assert any("1999999999999999999" in w and "does not exist" in w for w in warnings)
    assert queued() == [{"trigger": "milestone_change"}]


def test_saving_a_milestone_while_discord_is_unreachable_saves_and_warns(
    admin_client, fake_discord, settings, queued
):
    settings.DISCORD_API_BASE_URL = "http://127.0.0.1:9/api/v10"
    settings.DISCORD_GUILD_ID = GUILD_ID
    track = TrackFactory()

    response = save_track(admin_client, track, ("Top 10", "1888888888888888888"))

    assert Milestone.objects.filter(discord_role_id="1888888888888888888").exists()
    [warning] = warnings_of(response)
    assert "Could not check the roles against the Discord server" in warning


def test_the_confirm_action_queues_the_follow_up_run(
    admin_client, queued, django_capture_on_commit_callbacks
):
    held = RoleSyncRun.objects.create(trigger="schedule", status="awaiting_confirmation", planned=40)
    done = RoleSyncRun.objects.create(trigger="schedule", status="succeeded")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:rolesync_rolesyncrun_changelist"),
            {"action": "confirm_and_apply", "_selected_action": [held.pk, done.pk]},
        )

    follow_up = RoleSyncRun.objects.get(confirmation_of=held)
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(f"Role sync #{held.pk} confirmed" in m for m in messages)
    assert any(f"Role sync #{done.pk} is not waiting for a confirmation" in m for m in messages)
    assert queued() == [{"run_id": follow_up.pk}]


def test_the_run_page_shows_the_plan_and_the_errors(admin_client):
    run = RoleSyncRun.objects.create(
        trigger="schedule",
        status="partial",
        errors=[{"kind": "forbidden", "message": 'Discord refused to change "Top 10"', "count": 3}],
        plan=[
            {
                "user_id": 1,
                "discord_id": "1600000000000000001",
                "member": "alice",
                "role_id": "1",
                "role": "Top 10",
                "action": "add",
            }
        ],
    )
    response = admin_client.get(reverse("admin:rolesync_rolesyncrun_change", args=[run.pk]))
    content = response.content.decode()
    assert "+ alice (1600000000000000001) gains &quot;Top 10&quot;" in content
    assert "Discord refused to change &quot;Top 10&quot;" in content and "×3" in content


def test_staff_add_an_exclusion_in_the_admin_and_are_recorded_as_its_author(admin_client):
    member = UserFactory()
    response = admin_client.post(
        reverse("admin:rolesync_syncexclusion_add"), {"user": member.pk, "reason": "Moderator, roles by hand"}
    )

    assert response.status_code == 302
    exclusion = SyncExclusion.objects.get(user=member)
    assert exclusion.created_by == response.wsgi_request.user


def test_adding_and_removing_an_exclusion_in_the_admin_is_audited(admin_client):
    member = UserFactory()
    admin_client.post(
        reverse("admin:rolesync_syncexclusion_add"), {"user": member.pk, "reason": "Moderator, roles by hand"}
    )
    exclusion = SyncExclusion.objects.get(user=member)
    admin_client.post(reverse("admin:rolesync_syncexclusion_delete", args=[exclusion.pk]), {"post": "yes"})

    events = AuditEvent.objects.filter(target_type="rolesync.SyncExclusion").order_by("pk")
    staff = exclusion.created_by
    assert [(e.action, e.actor, e.source, e.target_id, e.data) for e in events] == [
        (
            "role_sync.exclusion_added",
            staff,
            "admin",
            str(exclusion.pk),
            {"user_id": member.pk, "reason": "Moderator, roles by hand"},
        ),
        (
            "role_sync.exclusion_removed",
            staff,
            "admin",
            str(exclusion.pk),
            {"user_id": member.pk, "reason": "Moderator, roles by hand"},
        ),
    ]


def test_removing_exclusions_with_the_bulk_delete_action_is_audited(admin_client):
    exclusions = [SyncExclusion.objects.create(user=UserFactory()) for _ in range(2)]

    admin_client.post(
        reverse("admin:rolesync_syncexclusion_changelist"),
        {"action": "delete_selected", "_selected_action": [e.pk for e in exclusions], "post": "yes"},
    )

    assert not SyncExclusion.objects.exists()
    removed = AuditEvent.objects.filter(action="role_sync.exclusion_removed")
    assert sorted(removed.values_list("target_id", flat=True)) == sorted(str(e.pk) for e in exclusions)

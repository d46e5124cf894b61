"""Ops around Linked Roles: the admin shows what each member was last sent, "Push now" is audited,
and /metrics and the health dashboard count members by state."""

import pytest

from accounts.models import AuditEvent
from accounts.tests.factories import StaffFactory, grant_permissions
from leaderboard.services import recalculate_leaderboard
from leaderboard.tests.factories import give
from linkedroles import services
from linkedroles.models import RoleConnection
from ops.tests.test_metrics import sample, scrape

pytestmark = pytest.mark.django_db


@pytest.fixture
def pushed(registered, link, run_outbox):
    alice, _, _ = link("alice")
    bob, _, _ = link("bob")
    give(alice, 40)
    recalculate_leaderboard()
    run_outbox()
    # Bob's first push failed: nothing was ever pushed for him.
    RoleConnection.objects.filter(user=bob).update(
        last_error="role connection push: 503", pushed_at=None, pushed_metadata=None
    )
    return alice, bob


def test_the_admin_lists_each_members_last_pushed_values_and_time(client, pushed):
    alice, _ = pushed
    client.force_login(StaffFactory(is_superuser=True))
    page = client.get("/admin/linkedroles/roleconnection/").content.decode()
    assert "Points (all time): 40" in page and "All-time rank: 1" in page
    assert "role connection push: 503" in page
    detail = client.get(f"/admin/linkedroles/roleconnection/{alice.pk}/change/").content.decode()
    assert "Points (all time): 40" in detail


def test_push_now_queues_a_push_per_member_and_is_audited(client, pushed, run_outbox):
    alice, bob = pushed
    staff = StaffFactory()
    grant_permissions(
        staff, app_label="linkedroles", codenames=["view_roleconnection", "change_roleconnection"]
    )
    client.force_login(staff)
    response = client.post(
        "/admin/linkedroles/roleconnection/",
        {"action": "push_now", "_selected_action": [alice.pk, bob.pk]},
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="linked_roles.push_requested")
    assert event.actor == staff and sorted(event.data["user_ids"]) == sorted([alice.pk, bob.pk])
    outcomes = run_outbox()
    assert outcomes == [(services.PUSH_MEMBER, "delivered")] * 2
    assert RoleConnection.objects.get(user=bob).pushed_at is not None


def test_staff_who_may_only_look_cannot_push(client, pushed):
    alice, _ = pushed
    staff = StaffFactory()
    grant_permissions(staff, app_label="linkedroles", codenames=["view_roleconnection"])
    client.force_login(staff)
    client.post("/admin/linkedroles/roleconnection/", {"action": "push_now", "_selected_action": [alice.pk]})
    assert not AuditEvent.objects.filter(action="linked_roles.push_requested").exists()


def test_metrics_count_members_by_linked_roles_state(client, pushed, settings):
    settings.METRICS_TOKEN = "scrape-secret"
    text = scrape(client, "scrape-secret")
    assert sample(text, "dealscale_linked_roles_members", state="granted") == 2
    assert sample(text, "dealscale_linked_roles_members", state="pushed") == 1
    assert sample(text, "dealscale_linked_roles_members", state="failing") == 1
    assert sample(text, "dealscale_linked_roles_paused") == 0
    assert sample(text, "dealscale_linked_roles_last_push_timestamp_seconds") > 0


def test_the_health_dashboard_shows_linked_roles(client, pushed):
    client.force_login(StaffFactory(is_superuser=True))
    page = client.get("/admin/discord-health/").content.decode()
    assert "2 members granted Linked Roles, 1 pushed to Discord, 1 whose last push failed." in page
    assert "Metadata registered" in page

"""Flags edited in the admin (the kill switch, rollouts) leave an audit event naming the staff member."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from waffle.models import Flag

from accounts.models import AuditEvent

pytestmark = pytest.mark.django_db


def flag_form(**fields) -> dict:
    data = {
        "name": "discord_integration",
        "everyone": "",
        "percent": "",
        "languages": "",
        "note": "",
        "created_0": "2026-11-25",
        "created_1": "12:00:00",
        "modified_0": "2026-11-25",
        "modified_1": "12:00:00",
        **fields,
    }
    return {name: value for name, value in data.items() if value is not False}


def flag_events():
    return list(AuditEvent.objects.filter(target_type="waffle.Flag").order_by("pk"))


def test_editing_a_flag_in_the_admin_records_what_changed_and_who_changed_it(admin_client):
    flag, _ = Flag.objects.update_or_create(
        name="discord_integration",
        defaults={"everyone": None, "percent": None, "superusers": False, "staff": False, "languages": ""},
    )
    moderators = Group.objects.create(name="Moderators")

    response = admin_client.post(
        reverse("admin:waffle_flag_change", args=[flag.pk]),
        flag_form(percent="25.0", staff="on", groups=[moderators.pk]),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    [event] = flag_events()
    assert (event.action, event.actor, event.source, event.target_id) == (
        "flag.changed",
        response.wsgi_request.user,
        "admin",
        str(flag.pk),
    )
    assert event.data == {
        "flag": "discord_integration",
        "percent": {"before": None, "after": "25.0"},
        "staff": {"before": False, "after": True},
        "groups": {"before": [], "after": ["Moderators"]},
    }


def test_creating_and_deleting_a_flag_in_the_admin_are_audited(admin_client):
    response = admin_client.post(
        reverse("admin:waffle_flag_add"), flag_form(name="beta_banner", everyone="True")
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    flag = Flag.objects.get(name="beta_banner")
    admin_client.post(reverse("admin:waffle_flag_delete", args=[flag.pk]), {"post": "yes"})

    created, deleted = flag_events()
    assert (created.action, created.data["flag"], created.data["everyone"]) == (
        "flag.created",
        "beta_banner",
        True,
    )
    assert (deleted.action, deleted.target_id, deleted.data["everyone"]) == (
        "flag.deleted",
        str(flag.pk),
        True,
    )
    assert not Flag.objects.filter(name="beta_banner").exists()


@pytest.mark.parametrize(("action", "everyone"), [("disable_for_all", False), ("enable_for_all", True)])
def test_switching_flags_for_everyone_with_the_list_action_is_audited(admin_client, action, everyone):
    flag, _ = Flag.objects.update_or_create(name="discord_integration", defaults={"everyone": not everyone})

    admin_client.post(
        reverse("admin:waffle_flag_changelist"), {"action": action, "_selected_action": [flag.pk]}
    )

    flag.refresh_from_db()
    assert flag.everyone is everyone
    [event] = flag_events()
    assert event.action == "flag.changed"
    assert event.data == {
        "flag": "discord_integration",
        "everyone": {"before": not everyone, "after": everyone},
    }


def test_deleting_flags_with_the_list_action_is_audited(admin_client):
    flag = Flag.objects.create(name="old_experiment", everyone=False)

    admin_client.post(
        reverse("admin:waffle_flag_changelist"),
        {"action": "delete_individually", "_selected_action": [flag.pk]},
    )

    assert not Flag.objects.filter(pk=flag.pk).exists()
    [event] = flag_events()
    assert (event.action, event.target_id, event.data["flag"]) == (
        "flag.deleted",
        str(flag.pk),
        "old_experiment",
    )

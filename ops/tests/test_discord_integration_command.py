from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from waffle.models import Flag

from accounts.models import AuditEvent

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("discord_integration", *args, stdout=out)
    return out.getvalue()


def flag() -> Flag:
    return Flag.objects.get(name="discord_integration")


def test_status_reports_the_migrations_starting_point_a_zero_percent_rollout_for_staff():
    assert run("status") == "discord_integration: rollout 0% of members plus staff and superusers\n"


def test_off_switches_the_flag_off_for_everyone_and_audits_the_change():
    output = run("off")
    assert "discord_integration is now off for everyone" in output
    assert flag().everyone is False
    event = AuditEvent.objects.get(action="flag.changed")
    assert event.source == "cli"
    assert event.target_type == "waffle.Flag"
    assert event.data["flag"] == "discord_integration"
    assert event.data["before"] == {"mode": "rollout", "percent": "0.0"}
    assert event.data["after"]["mode"] == "off"
    assert event.data["operator"]
    assert run("status") == "discord_integration: off for everyone\n"


def test_on_opens_it_to_everyone():
    run("off")
    run("on")
    assert flag().everyone is True
    assert run("status") == "discord_integration: on for everyone\n"
    assert [
        e.data["after"]["mode"] for e in AuditEvent.objects.filter(action="flag.changed").order_by("id")
    ] == [
        "off",
        "on",
    ]


@pytest.mark.parametrize(
    ("given", "stored"), [("10", Decimal("10")), ("50%", Decimal("50")), ("12.5", Decimal("12.5"))]
)
def test_rollout_sets_the_percentage_and_leaves_everyone_unset(given, stored):
    run("on")
    run("rollout", given)
    assert (flag().everyone, flag().percent) == (None, stored)
    assert f"rollout {stored.normalize():f}% of members" in run("status")


def test_rollout_of_one_hundred_percent_is_on_for_everyone():
    run("rollout", "100")
    assert flag().everyone is True


@pytest.mark.parametrize("bad", ["-1", "101", "abc", "12.25", "nan"])
def test_a_bad_percentage_is_refused_with_a_clear_error_and_changes_nothing(bad):
    with pytest.raises(CommandError):
        run("rollout", bad)
    assert flag().everyone is None
    assert not AuditEvent.objects.filter(action="flag.changed").exists()


def test_a_missing_flag_is_reported_not_crashed():
    Flag.objects.filter(name="discord_integration").delete()
    with pytest.raises(CommandError, match="migrate"):
        run("off")

"""Staff adjustments and service keys in the admin, and the two management commands."""

import re

import pytest
from django.core.management import CommandError, call_command

from accounts.models import AuditEvent
from accounts.tests.factories import UserFactory
from leaderboard.models import ScoreEvent, ScoreTotal, ServiceKey, SnapshotGeneration
from leaderboard.signing import decrypt_secret
from leaderboard.tasks import recalculate_leaderboard

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    admin = UserFactory(username="boss", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client, admin


def test_a_manual_adjustment_writes_a_score_event_and_an_audit_event(staff_client):
    client, admin = staff_client
    member = UserFactory()
    response = client.post(
        "/admin/leaderboard/scoreevent/add/", {"user": member.pk, "points": -15, "reason": "Duplicate deal"}
    )
    assert response.status_code == 302
    event = ScoreEvent.objects.get()
    assert (event.user, event.points, event.source, event.reason, event.created_by) == (
        member,
        -15,
        "admin",
        "Duplicate deal",
        admin,
    )
    assert ScoreTotal.objects.get(user=member, period="all").score == -15
    audit = AuditEvent.objects.get(action="leaderboard.manual_adjustment")
    assert (audit.actor, audit.source, audit.target_id, audit.data["points"]) == (
        admin,
        "admin",
        str(member.pk),
        -15,
    )


def test_a_manual_adjustment_without_a_reason_is_refused(staff_client):
    client, _ = staff_client
    response = client.post(
        "/admin/leaderboard/scoreevent/add/", {"user": UserFactory().pk, "points": 5, "reason": "  "}
    )
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not ScoreEvent.objects.exists()


def test_the_admin_shows_a_new_service_key_and_secret_once(staff_client):
    client, _ = staff_client
    response = client.post("/admin/leaderboard/servicekey/add/", {"name": "shop"}, follow=True)
    message = next(str(m) for m in response.context["messages"])
    key, secret = re.search(r"key=(\S+) secret=(\S+)", message).groups()
    row = ServiceKey.objects.get(name="shop")
    assert row.key_hash == ServiceKey.hash_key(key) and decrypt_secret(row.encrypted_secret) == secret
    assert AuditEvent.objects.filter(action="service_key.created", source="admin").exists()


def test_the_admin_revokes_service_keys(staff_client, service_key):
    client, _ = staff_client
    row = service_key[0]
    client.post(
        "/admin/leaderboard/servicekey/", {"action": "revoke_keys", "_selected_action": [row.pk]}, follow=True
    )
    row.refresh_from_db()
    assert row.revoked_at is not None


def test_create_service_key_prints_the_key_and_the_secret_on_their_own_lines(capsys):
    call_command("create_service_key", "platform")
    lines = capsys.readouterr().out.splitlines()
    key = next(line.removeprefix("key=") for line in lines if line.startswith("key="))
    secret = next(line.removeprefix("secret=") for line in lines if line.startswith("secret="))
    row = ServiceKey.objects.get(name="platform")
    assert row.key_hash == ServiceKey.hash_key(key) and decrypt_secret(row.encrypted_secret) == secret


def test_create_service_key_refuses_a_taken_name(service_key):
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_service_key", "platform")


def test_recalculate_leaderboard_prints_the_timing_of_each_period(capsys):
    call_command("recalculate_leaderboard")
    out = capsys.readouterr().out
    assert re.search(r"^all\s+0 ranked in [\d.]+ ms", out, re.M)
    assert re.search(r"^total\s+[\d.]+ ms", out, re.M)
    call_command("recalculate_leaderboard")
    assert "skipped" in capsys.readouterr().out


def test_the_celery_task_runs_the_recalculation():
    recalculate_leaderboard.apply()
    assert set(SnapshotGeneration.objects.values_list("period", flat=True)) == {"all", "week", "month"}

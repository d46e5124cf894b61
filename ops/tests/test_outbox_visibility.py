"""The outbox seen from ops: its backlog in /metrics and on the health dashboard, and the alert when
side effects stop being delivered."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import StaffFactory
from dealscale import outbox
from dealscale.models import OutboxEntry
from ops.alerts import evaluate_alerts
from ops.models import AlertIncident
from ops.tests.conftest import T0
from ops.tests.test_metrics import sample, scrape

pytestmark = pytest.mark.django_db


def entry(*, due_seconds_ago: float, status=OutboxEntry.Status.PENDING, created=T0) -> OutboxEntry:
    made = OutboxEntry.objects.create(
        kind="test.effect", status=status, next_attempt_at=T0 - timedelta(seconds=due_seconds_ago)
    )
    OutboxEntry.objects.filter(pk=made.pk).update(created_at=created)
    return made


def test_the_backlog_counts_waiting_delivering_and_recently_failed_entries():
    entry(due_seconds_ago=90)
    entry(due_seconds_ago=-60)  # not due yet
    entry(due_seconds_ago=0, status=OutboxEntry.Status.DELIVERING)
    entry(due_seconds_ago=0, status=OutboxEntry.Status.FAILED)
    entry(due_seconds_ago=0, status=OutboxEntry.Status.FAILED, created=T0 - timedelta(days=2))
    entry(due_seconds_ago=999, status=OutboxEntry.Status.DELIVERED)

    assert outbox.backlog(now=T0) == outbox.Backlog(
        pending=2, delivering=1, failed_last_day=1, oldest_due_seconds=90.0
    )


def test_an_empty_outbox_has_no_lag():
    assert outbox.backlog(now=T0).oldest_due_seconds is None


def test_the_alert_fires_when_an_entry_waits_past_the_limit_and_resolves_once_delivered(settings):
    settings.ALERT_OUTBOX_LAG_SECONDS = 300
    waiting = entry(due_seconds_ago=299)
    evaluate_alerts(now=T0)
    assert not AlertIncident.objects.filter(rule="outbox_backlog").exists()

    evaluate_alerts(now=T0 + timedelta(seconds=2))
    incident = AlertIncident.objects.get(rule="outbox_backlog", resolved_at__isnull=True)
    assert incident.severity == "critical" and incident.first_value == pytest.approx(301)

    OutboxEntry.objects.filter(pk=waiting.pk).update(status=OutboxEntry.Status.DELIVERED)
    evaluate_alerts(now=T0 + timedelta(seconds=60))
    assert AlertIncident.objects.get(rule="outbox_backlog").resolved_at is not None


def test_entries_that_failed_for_good_do_not_fire_the_alert():
    entry(due_seconds_ago=10_000, status=OutboxEntry.Status.FAILED)
    evaluate_alerts(now=T0)
    assert not AlertIncident.objects.filter(rule="outbox_backlog").exists()


def test_metrics_and_dashboard_show_the_backlog(client, settings):
    settings.METRICS_TOKEN = "scrape-secret"
    entry(due_seconds_ago=30)
    entry(due_seconds_ago=0, status=OutboxEntry.Status.FAILED, created=T0)
    OutboxEntry.objects.update(created_at=timezone.now())

    text = scrape(client, "scrape-secret")
    assert sample(text, "dealscale_outbox_entries", status="pending") == 1
    assert sample(text, "dealscale_outbox_entries", status="failed_24h") == 1
    assert sample(text, "dealscale_outbox_oldest_due_seconds") > 0

    client.force_login(StaffFactory(is_superuser=True))
    page = client.get("/admin/discord-health/").content.decode()
    assert "1 side effect waiting, 0 being delivered" in page
    assert "1 failed for good in the last 24 h" in page

import logging
from datetime import timedelta

import pytest
from celery.app.task import Task
from kombu.exceptions import OperationalError

from dealscale.models import OutboxEntry
from discordbot.services import record_heartbeat
from ops import notifiers, tasks
from ops.alerts import evaluate_alerts
from ops.models import AlertDelivery, AlertIncident, AlertNotification
from ops.tests.conftest import T0
from ops.tests.factories import CommandInvocationFactory, HeartbeatFactory, OAuthAttemptFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def alert_settings(settings):
    settings.ALERT_BOT_OFFLINE_SECONDS = 120
    settings.ALERT_ERROR_RATE_THRESHOLD = 0.05
    settings.ALERT_ERROR_RATE_WINDOW_SECONDS = 300
    settings.ALERT_ERROR_RATE_MIN_COMMANDS = 5
    settings.ALERT_OAUTH_FAILURES_THRESHOLD = 10
    settings.ALERT_OAUTH_FAILURES_WINDOW_SECONDS = 60
    settings.ALERT_REPEAT_MINUTES = 30
    settings.ALERT_DISCORD_WEBHOOK_URL = ""
    settings.ALERT_SLACK_WEBHOOK_URL = ""
    settings.ALERT_WEBHOOK_MAX_RETRIES = 2
    return settings


@pytest.fixture
def bot_seen_now():
    return HeartbeatFactory()


def kinds(rule: str) -> list[str]:
    return list(
        AlertNotification.objects.filter(incident__rule=rule)
        .order_by("created_at", "id")
        .values_list("kind", flat=True)
    )


def evaluate_every_minute(clock, minutes: int) -> None:
    for _ in range(minutes):
        clock.shift(timedelta(minutes=1))
        evaluate_alerts()


# --- bot offline -----------------------------------------------------------------------------


def test_bot_offline_fires_once_repeats_at_the_interval_and_resolves(clock, bot_seen_now):
    evaluate_alerts()
    assert kinds("bot_offline") == []

    clock.shift(timedelta(seconds=121))
    evaluate_alerts()
    incident = AlertIncident.objects.get(rule="bot_offline")
    assert incident.severity == "critical"
    assert incident.is_open
    assert kinds("bot_offline") == ["firing"]

    # Still offline for 29 more minutes: no new message.
    evaluate_every_minute(clock, 29)
    assert kinds("bot_offline") == ["firing"]

    # 30 minutes after the first message: one reminder, then quiet again.
    evaluate_every_minute(clock, 1)
    assert kinds("bot_offline") == ["firing", "repeat"]
    evaluate_every_minute(clock, 10)
    assert kinds("bot_offline") == ["firing", "repeat"]

    record_heartbeat(instance="bot-0", started_at=T0, latency_ms=30.0, guild_count=1, commands_served=0)
    evaluate_alerts()
    incident.refresh_from_db()
    assert incident.resolved_at is not None
    assert kinds("bot_offline") == ["firing", "repeat", "resolved"]
    resolved = AlertNotification.objects.get(incident=incident, kind="resolved")
    assert resolved.message.startswith("RESOLVED: Discord bot offline (after 40 min)")

    # Resolved stays resolved; a new outage is a new incident.
    evaluate_alerts()
    assert AlertIncident.objects.filter(rule="bot_offline").count() == 1


def test_bot_offline_fires_when_no_bot_ever_sent_a_heartbeat(clock):
    evaluate_alerts()
    assert kinds("bot_offline") == ["firing"]
    assert AlertNotification.objects.get().message == (
        "CRITICAL: Discord bot offline. No bot process has ever sent a heartbeat."
    )


def test_the_repeat_interval_comes_from_settings(clock, alert_settings):
    alert_settings.ALERT_REPEAT_MINUTES = 5
    evaluate_alerts()  # no heartbeat at all: firing
    evaluate_every_minute(clock, 15)
    assert kinds("bot_offline") == ["firing", "repeat", "repeat", "repeat"]


# --- error rate ------------------------------------------------------------------------------


def test_error_rate_fires_above_five_percent_over_five_minutes_and_resolves_when_errors_age_out(
    clock, bot_seen_now
):
    CommandInvocationFactory.create_batch(18)
    CommandInvocationFactory.create_batch(1, outcome="error")
    CommandInvocationFactory.create_batch(1, outcome="refused")  # a refusal is an answer, not an error
    evaluate_alerts()
    assert kinds("command_error_rate") == []  # 1 / 20 = 5 %: not above

    CommandInvocationFactory(outcome="error")
    evaluate_alerts()  # 2 / 21 = 9.5 %
    assert kinds("command_error_rate") == ["firing"]
    incident = AlertIncident.objects.get(rule="command_error_rate")
    assert incident.severity == "warning"
    assert incident.first_value == pytest.approx(2 / 21)
    assert "2 of 21 bot commands failed in the last 5 min (9.5%)" in incident.summary

    for _ in range(5):  # keep the bot alive while the errors leave the 5-minute window
        clock.shift(timedelta(minutes=1))
        HeartbeatFactory().save()
        CommandInvocationFactory.create_batch(2)
        evaluate_alerts()
    assert kinds("command_error_rate") == ["firing", "resolved"]


def test_error_rate_stays_quiet_below_the_minimum_number_of_commands(clock, bot_seen_now):
    CommandInvocationFactory.create_batch(4, outcome="error")
    evaluate_alerts()
    assert kinds("command_error_rate") == []
    CommandInvocationFactory(outcome="error")
    evaluate_alerts()
    assert kinds("command_error_rate") == ["firing"]


# --- OAuth failures --------------------------------------------------------------------------


def test_more_than_ten_oauth_failures_in_a_minute_fire_and_clear_a_minute_later(clock, bot_seen_now):
    OAuthAttemptFactory.create_batch(10)
    OAuthAttemptFactory(succeeded=True, error="")
    evaluate_alerts()
    assert kinds("oauth_failures") == []  # exactly 10: not more than 10

    clock.shift(timedelta(seconds=30))
    OAuthAttemptFactory()
    evaluate_alerts()
    assert kinds("oauth_failures") == ["firing"]
    assert AlertIncident.objects.get(rule="oauth_failures").first_value == 11

    clock.shift(timedelta(seconds=31))  # the first ten are now older than a minute
    HeartbeatFactory().save()
    evaluate_alerts()
    assert kinds("oauth_failures") == ["firing", "resolved"]


def test_oauth_failures_older_than_the_window_do_not_count(clock, bot_seen_now):
    OAuthAttemptFactory.create_batch(8)
    clock.shift(timedelta(seconds=61))
    HeartbeatFactory().save()
    OAuthAttemptFactory.create_batch(8)
    evaluate_alerts()
    assert kinds("oauth_failures") == []


def test_a_rule_has_at_most_one_open_incident_even_when_evaluated_twice_at_the_same_instant(clock):
    evaluate_alerts()
    evaluate_alerts()
    assert AlertIncident.objects.filter(rule="bot_offline", resolved_at__isnull=True).count() == 1
    assert kinds("bot_offline") == ["firing"]


# --- webhook delivery ------------------------------------------------------------------------


def test_a_firing_alert_is_posted_to_the_discord_and_slack_webhooks(
    clock, alert_settings, webhook_server, eager_celery, django_capture_on_commit_callbacks
):
    alert_settings.ALERT_DISCORD_WEBHOOK_URL = webhook_server.url("/api/webhooks/1/abc")
    alert_settings.ALERT_SLACK_WEBHOOK_URL = webhook_server.url("/services/T/B/x")
    with django_capture_on_commit_callbacks(execute=True):
        evaluate_alerts()

    by_path = {post["path"]: post for post in webhook_server.received}
    discord = by_path["/api/webhooks/1/abc"]
    assert discord["content_type"] == "application/json"
    assert (
        discord["json"]["content"]
        == "CRITICAL: Discord bot offline. No bot process has ever sent a heartbeat."
    )
    assert discord["json"]["allowed_mentions"] == {"parse": []}
    embed = discord["json"]["embeds"][0]
    assert embed["title"] == "[Firing] bot_offline"
    assert embed["color"] == 0xC62828
    assert embed["timestamp"] == T0.isoformat()
    assert by_path["/services/T/B/x"]["json"] == {
        "text": "CRITICAL: Discord bot offline. No bot process has ever sent a heartbeat."
    }
    assert set(AlertDelivery.objects.values_list("channel", "status", "attempts")) == {
        ("discord", "sent", 1),
        ("slack", "sent", 1),
    }


@pytest.mark.parametrize("failure", ["http_500", "connection_refused"])
def test_a_failing_webhook_is_retried_then_marked_failed_and_logged_without_breaking_the_evaluation(
    failure,
    clock,
    alert_settings,
    webhook_server,
    refused_url,
    eager_celery,
    django_capture_on_commit_callbacks,
    caplog,
    outbox_worker,
):
    webhook_server.statuses["/discord"] = 500
    alert_settings.ALERT_DISCORD_WEBHOOK_URL = (
        webhook_server.url("/discord") if failure == "http_500" else refused_url
    )
    alert_settings.ALERT_SLACK_WEBHOOK_URL = webhook_server.url("/slack")

    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        notifications = evaluate_alerts()
    # The first attempt ran when the evaluation committed; the outbox retries after the alert backoff.
    entry = OutboxEntry.objects.get(payload__delivery_id=AlertDelivery.objects.get(channel="discord").pk)
    assert entry.next_attempt_at == T0 + timedelta(seconds=alert_settings.ALERT_WEBHOOK_RETRY_BACKOFF_SECONDS)
    with caplog.at_level(logging.ERROR):
        outbox_worker.drain()

    assert [n.kind for n in notifications] == ["firing"]
    entry.refresh_from_db()
    assert (entry.status, entry.attempts) == ("failed", 3)
    discord = AlertDelivery.objects.get(channel="discord")
    assert discord.status == "failed"
    assert discord.attempts == 3  # the first try and ALERT_WEBHOOK_MAX_RETRIES = 2 retries
    expected_error = "HTTP 500" if failure == "http_500" else "ConnectionError"
    assert discord.last_error.startswith(expected_error)
    assert caplog.text.count("alert_delivery_failed") == 3
    # The other channel is delivered independently.
    assert AlertDelivery.objects.get(channel="slack").status == "sent"
    if failure == "http_500":
        assert [p["path"] for p in webhook_server.received].count("/discord") == 3
    # The incident moved on regardless; the next minute evaluates normally.
    assert AlertIncident.objects.get(rule="bot_offline").is_open
    clock.shift(timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert evaluate_alerts() == []


def test_a_webhook_that_recovers_before_the_last_retry_is_marked_sent(
    clock,
    alert_settings,
    webhook_server,
    eager_celery,
    django_capture_on_commit_callbacks,
    monkeypatch,
    outbox_worker,
):
    alert_settings.ALERT_SLACK_WEBHOOK_URL = webhook_server.url("/slack")
    webhook_server.status = 502
    real_post = notifiers.requests.post

    def post_then_recover(*args, **kwargs):
        if len(webhook_server.received) == 2:
            webhook_server.status = 200
        return real_post(*args, **kwargs)

    monkeypatch.setattr(notifiers.requests, "post", post_then_recover)
    with django_capture_on_commit_callbacks(execute=True):
        evaluate_alerts()
    outbox_worker.drain()
    delivery = AlertDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.delivered_at) == ("sent", 3, T0)
    assert OutboxEntry.objects.get().status == "delivered"


@pytest.mark.django_db(transaction=True)
def test_a_broker_outage_leaves_the_delivery_pending_and_the_evaluation_completes(
    alert_settings, monkeypatch
):
    alert_settings.ALERT_SLACK_WEBHOOK_URL = "http://127.0.0.1:9/unused"

    def broker_down(*args, **kwargs):
        raise OperationalError("Connection refused")

    monkeypatch.setattr(Task, "apply_async", broker_down)
    notifications = evaluate_alerts()
    assert [n.kind for n in notifications] == ["firing"]
    assert AlertDelivery.objects.get().status == "pending"
    # Kept in the outbox, not handed to the broker: the relay hands it over once the broker is back.
    entry = OutboxEntry.objects.get()
    assert (entry.kind, entry.status, entry.handed_at) == ("ops.alert_delivery", "pending", None)


def test_the_beat_task_runs_the_evaluation(clock):
    assert tasks.evaluate_alerts.apply().get() == 1
    assert kinds("bot_offline") == ["firing"]


@pytest.mark.parametrize("failure", ["http_500", "connection_refused"])
def test_a_failing_webhook_keeps_its_token_out_of_the_stored_error_and_the_log(
    failure,
    clock,
    alert_settings,
    webhook_server,
    refused_url,
    eager_celery,
    django_capture_on_commit_callbacks,
    caplog,
):
    token_path = "/api/webhooks/1/SECRET-WEBHOOK-TOKEN"
    webhook_server.statuses[token_path] = 500
    base = webhook_server.url("") if failure == "http_500" else refused_url.removesuffix("/webhook")
    alert_settings.ALERT_DISCORD_WEBHOOK_URL = base + token_path

    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        evaluate_alerts()

    discord = AlertDelivery.objects.get(channel="discord")
    expected = "HTTP 500 from 127.0.0.1" if failure == "http_500" else "ConnectionError from 127.0.0.1"
    assert discord.last_error == expected
    assert "alert_delivery_failed" in caplog.text
    assert "SECRET-WEBHOOK-TOKEN" not in caplog.text

import re
from datetime import timedelta

import pytest

from accounts.services import record_oauth_attempt
from accounts.tests.factories import StaffFactory, UserFactory
from credits.tests.factories import CreditRequestFactory
from ops import tasks
from ops.alerts import evaluate_alerts
from ops.tests.conftest import T0
from ops.tests.factories import CommandInvocationFactory, HeartbeatFactory
from rolesync.models import RoleSyncRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = "scrape-secret"
    return "scrape-secret"


def scrape(client, token: str) -> str:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return response.content.decode()


def sample(text: str, name: str, **labels) -> float | None:
    """The value of one sample in the exposition (labels in any order), or None."""
    for line in text.splitlines():
        match = re.fullmatch(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if found == {k: str(v) for k, v in labels.items()}:
            return float(match.group(3))
    return None


def test_without_credentials_metrics_answer_401_with_a_bearer_challenge(client, metrics_token):
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'


@pytest.mark.parametrize("header", ["Bearer wrong", "Basic c2NyYXBlLXNlY3JldA==", "Bearer "])
def test_a_wrong_token_is_forbidden(client, metrics_token, header):
    assert client.get("/metrics", HTTP_AUTHORIZATION=header).status_code == 403


def test_no_token_is_accepted_when_none_is_configured(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


def test_staff_sessions_may_scrape_and_members_may_not(client):
    client.force_login(UserFactory())
    assert client.get("/metrics").status_code == 403
    client.force_login(StaffFactory())
    response = client.get("/metrics")
    assert response.status_code == 200
    assert "dealscale_bot_up" in response.content.decode()


def test_request_metrics_count_the_requests_django_served(client, metrics_token):
    client.get("/health")
    text = scrape(client, metrics_token)
    assert (
        sample(
            text,
            "django_http_requests_total_by_view_transport_method_total",
            view="health",
            transport="http",
            method="GET",
        )
        >= 1
    )


def test_integration_metrics_reflect_the_recorded_events(client, metrics_token, clock):
    HeartbeatFactory(
        started_at=T0 - timedelta(hours=2), last_seen_at=T0 - timedelta(seconds=5), latency_ms=42.0
    )
    CommandInvocationFactory.create_batch(3, command="credits", duration_ms=100)
    CommandInvocationFactory(command="credits", outcome="error", duration_ms=500)
    clock.shift(timedelta(minutes=-10))
    CommandInvocationFactory(command="leaderboard")  # outside the 5-minute window
    clock.move_to(T0, tick=False)
    for succeeded in (True, False, False):
        record_oauth_attempt(succeeded=succeeded, error="" if succeeded else "access_denied")
    RoleSyncRun.objects.create(
        trigger="schedule", status="succeeded", finished_at=T0, planned=4, applied=3, failed=1
    )
    RoleSyncRun.objects.create(trigger="schedule", status="paused", finished_at=T0 - timedelta(minutes=5))
    CreditRequestFactory.create_batch(2)

    text = scrape(client, metrics_token)
    assert sample(text, "dealscale_bot_up") == 1
    assert sample(text, "dealscale_bot_uptime_seconds") == 7200
    assert sample(text, "dealscale_bot_gateway_latency_ms") == 42
    assert sample(text, "dealscale_discord_commands_5m", command="credits", outcome="ok") == 3
    assert sample(text, "dealscale_discord_commands_5m", command="credits", outcome="error") == 1
    assert sample(text, "dealscale_discord_commands_5m", command="leaderboard", outcome="ok") is None
    assert (
        sample(text, "dealscale_discord_command_duration_ms_avg_5m", command="credits", outcome="error")
        == 500
    )
    assert sample(text, "dealscale_oauth_attempts_5m", provider="discord", outcome="failure") == 2
    assert sample(text, "dealscale_oauth_attempts_5m", provider="discord", outcome="success") == 1
    assert sample(text, "dealscale_role_sync_runs_24h", status="succeeded") == 1
    assert sample(text, "dealscale_role_sync_runs_24h", status="paused") == 1
    assert (
        sample(text, "dealscale_role_sync_last_finished_timestamp_seconds", status="succeeded")
        == T0.timestamp()
    )
    assert sample(text, "dealscale_role_sync_last_run_changes", result="failed") == 1
    assert sample(text, "dealscale_credit_requests_pending") == 2
    assert sample(text, "dealscale_alert_firing", rule="bot_offline", severity="critical") == 0


def test_a_firing_alert_shows_in_the_metrics(client, metrics_token, clock):
    evaluate_alerts()  # no heartbeat at all
    text = scrape(client, metrics_token)
    assert sample(text, "dealscale_bot_up") == 0
    assert sample(text, "dealscale_alert_firing", rule="bot_offline", severity="critical") == 1
    assert sample(text, "dealscale_alert_firing", rule="oauth_failures", severity="warning") == 0


def test_celery_task_outcomes_are_counted_in_redis_for_every_process(client, metrics_token, clock):
    tasks.evaluate_alerts.apply()
    tasks.evaluate_alerts.apply()
    text = scrape(client, metrics_token)
    assert (
        sample(text, "dealscale_celery_tasks_total", task="dealscale.tasks.evaluate_alerts", state="success")
        == 2
    )

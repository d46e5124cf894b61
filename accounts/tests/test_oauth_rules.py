"""OAuth health: the health check's rule and the "Discord OAuth failing" alert's rule side by side."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import OAuthAttempt
from accounts.selectors import (
    oauth_attempt_counts,
    oauth_failing_for_alert,
    oauth_failures_for_alert,
    oauth_is_working,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def thresholds(settings):
    settings.DISCORD_CLIENT_ID = "client-id"
    settings.DISCORD_CLIENT_SECRET = "client-secret"
    settings.OAUTH_FAILURE_THRESHOLD = 3
    settings.OAUTH_FAILURE_WINDOW_SECONDS = 300
    settings.ALERT_OAUTH_FAILURES_THRESHOLD = 10
    settings.ALERT_OAUTH_FAILURES_WINDOW_SECONDS = 60


def attempts(count: int, *, succeeded: bool, ago: timedelta = timedelta(0)) -> None:
    created = OAuthAttempt.objects.bulk_create(
        [OAuthAttempt(succeeded=succeeded, error="" if succeeded else "invalid_grant") for _ in range(count)]
    )
    OAuthAttempt.objects.filter(pk__in=[a.pk for a in created]).update(created_at=timezone.now() - ago)


def test_a_success_after_a_burst_heals_the_health_check_but_not_the_alert():
    attempts(11, succeeded=False, ago=timedelta(seconds=10))
    assert oauth_is_working() is False
    assert oauth_failures_for_alert(now=timezone.now()) == 11
    assert oauth_failing_for_alert(11) is True

    attempts(1, succeeded=True)
    assert oauth_is_working() is True
    assert oauth_failing_for_alert(oauth_failures_for_alert(now=timezone.now())) is True


def test_each_rule_counts_in_its_own_window():
    attempts(11, succeeded=False, ago=timedelta(minutes=2))
    assert oauth_failures_for_alert(now=timezone.now()) == 0  # outside the alert's minute
    assert oauth_is_working() is False  # inside the health check's five minutes


def test_the_alert_fires_only_above_its_threshold():
    assert oauth_failing_for_alert(10) is False
    assert oauth_failing_for_alert(11) is True


def test_attempts_are_counted_by_provider_and_outcome():
    attempts(2, succeeded=False)
    attempts(1, succeeded=True)
    attempts(4, succeeded=True, ago=timedelta(hours=1))
    since = timezone.now() - timedelta(minutes=5)
    assert oauth_attempt_counts(since=since) == {("discord", False): 2, ("discord", True): 1}

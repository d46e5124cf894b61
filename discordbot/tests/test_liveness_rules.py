"""Bot liveness: the health check's rule and the bot-offline alert's rule, each on its own setting."""

from datetime import UTC, datetime, timedelta

import pytest

from discordbot.models import BotHeartbeat
from discordbot.selectors import (
    bot_is_online,
    bot_offline_for_alert,
    live_bot_uptime,
    seconds_since_last_heartbeat,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def thresholds(settings):
    settings.BOT_HEARTBEAT_MAX_AGE_SECONDS = 60
    settings.ALERT_BOT_OFFLINE_SECONDS = 300


def heartbeat(instance: str, *, seen_ago: float, started_ago: float = 3600) -> BotHeartbeat:
    return BotHeartbeat.objects.create(
        instance=instance,
        last_seen_at=NOW - timedelta(seconds=seen_ago),
        started_at=NOW - timedelta(seconds=started_ago),
    )


def test_without_any_heartbeat_the_bot_is_offline_for_both_rules():
    assert bot_is_online(now=NOW) is False
    assert seconds_since_last_heartbeat(now=NOW) is None
    assert bot_offline_for_alert(seconds_since_last_heartbeat(now=NOW)) is True
    assert live_bot_uptime(now=NOW) is None


def test_health_turns_red_at_its_own_age_before_the_alert_fires():
    heartbeat("bot-0", seen_ago=60)
    assert bot_is_online(now=NOW) is True  # exactly the maximum age is still online
    assert live_bot_uptime(now=NOW) == timedelta(hours=1)

    BotHeartbeat.objects.update(last_seen_at=NOW - timedelta(seconds=61))
    assert bot_is_online(now=NOW) is False
    assert live_bot_uptime(now=NOW) is None
    assert seconds_since_last_heartbeat(now=NOW) == 61
    assert bot_offline_for_alert(61) is False

    assert bot_offline_for_alert(300) is False  # exactly the limit does not fire
    assert bot_offline_for_alert(301) is True


def test_the_newest_heartbeat_of_any_process_counts():
    heartbeat("bot-old", seen_ago=900, started_ago=7200)
    heartbeat("bot-new", seen_ago=5, started_ago=600)
    assert bot_is_online(now=NOW) is True
    assert live_bot_uptime(now=NOW) == timedelta(minutes=10)
    assert seconds_since_last_heartbeat(now=NOW) == 5


def test_a_heartbeat_from_the_future_reads_as_zero_seconds_of_silence():
    heartbeat("bot-0", seen_ago=-3)
    assert seconds_since_last_heartbeat(now=NOW) == 0.0

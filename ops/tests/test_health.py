import socket
import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import OAuthAttempt
from dealscale.redis_client import get_redis
from discordbot.services import record_heartbeat

# The checks run in their own threads and connections, so their rows must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def discord_configured(settings):
    settings.DISCORD_CLIENT_ID = "1234"
    settings.DISCORD_CLIENT_SECRET = "secret"


@pytest.fixture
def bot_alive():
    now = timezone.now()
    record_heartbeat(instance="bot-0", started_at=now, latency_ms=42.0, guild_count=1, commands_served=0)


@pytest.fixture
def redis_at(settings):
    """Point the Redis client at another URL for one test."""

    def point(url):
        settings.REDIS_URL = url
        get_redis.cache_clear()

    yield point
    get_redis.cache_clear()


def test_liveness_answers_ok_without_touching_dependencies(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_discord_health_is_healthy_when_every_check_passes(client, discord_configured, bot_alive):
    response = client.get("/health/discord")
    assert response.status_code == 200
    assert response.json() == {
        "status": "healthy",
        "checks": {
            "bot_online": True,
            "oauth_working": True,
            "database_connection": True,
            "redis_connection": True,
        },
    }


def test_a_stale_heartbeat_means_the_bot_is_offline(client, discord_configured):
    long_ago = timezone.now() - timedelta(minutes=5)
    record_heartbeat(instance="bot-0", started_at=long_ago, latency_ms=None, guild_count=1, commands_served=0)
    from discordbot.models import BotHeartbeat

    BotHeartbeat.objects.update(last_seen_at=long_ago)

    response = client.get("/health/discord")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["bot_online"] is False
    assert body["checks"]["database_connection"] is True


def test_oauth_is_not_working_when_unconfigured(client, settings, bot_alive):
    settings.DISCORD_CLIENT_ID = ""
    response = client.get("/health/discord")
    assert response.status_code == 503
    assert response.json()["checks"]["oauth_working"] is False


def test_a_burst_of_oauth_failures_turns_oauth_red_until_a_success(
    client, settings, discord_configured, bot_alive
):
    settings.OAUTH_FAILURE_THRESHOLD = 3
    OAuthAttempt.objects.bulk_create([OAuthAttempt(succeeded=False, error="invalid_grant") for _ in range(3)])
    assert client.get("/health/discord").json()["checks"]["oauth_working"] is False

    OAuthAttempt.objects.create(succeeded=True)
    assert client.get("/health/discord").json()["checks"]["oauth_working"] is True


def test_redis_down_answers_503_fast(client, discord_configured, bot_alive, redis_at):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    redis_at(f"redis://127.0.0.1:{free_port}/0")

    started = time.monotonic()
    response = client.get("/health/discord")
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert response.json()["checks"]["redis_connection"] is False
    assert response.json()["checks"]["database_connection"] is True
    assert elapsed < 3, f"a refused Redis connection took {elapsed:.2f}s"


def test_a_hung_redis_is_cut_off_by_the_check_timeout(
    client, settings, discord_configured, bot_alive, redis_at
):
    """A server that accepts and never answers: the endpoint must not hang with it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted = []
    stop = threading.Event()

    def accept_and_stay_silent():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept_and_stay_silent, daemon=True)
    thread.start()
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 0.5
    redis_at(f"redis://127.0.0.1:{listener.getsockname()[1]}/0")
    try:
        started = time.monotonic()
        response = client.get("/health/discord")
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()

    assert response.status_code == 503
    assert response.json()["checks"]["redis_connection"] is False
    assert elapsed < 2, f"the endpoint waited {elapsed:.2f}s on a silent Redis"


def test_all_checks_share_one_deadline_and_late_answers_count_as_failed(settings, monkeypatch):
    from ops import health

    def slow_ok():
        time.sleep(2.0)
        return True

    monkeypatch.setattr(health, "CHECKS", {f"slow_{i}": slow_ok for i in range(4)})
    started = time.monotonic()
    results = health.run_checks(timeout=0.3)
    elapsed = time.monotonic() - started

    assert results == {f"slow_{i}": False for i in range(4)}
    assert elapsed < 1.5, f"four slow checks took {elapsed:.2f}s against a 0.3 s deadline"

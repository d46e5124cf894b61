"""API throttles per user and per IP (429 + Retry-After), and allauth's login/signup limits."""

from datetime import timedelta

import pytest

from accounts.services import create_api_token
from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def low_rates(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "3/minute", "ip": "5/minute", "score_events": "2/minute"},
    }


def bearer(user) -> str:
    return f"Bearer {create_api_token(user=user)[1]}"


def get_me(client, token: str, ip: str = "10.0.0.1"):
    return client.get("/api/me", HTTP_AUTHORIZATION=token, REMOTE_ADDR=ip)


def test_a_user_over_the_rate_gets_429_with_retry_after_and_others_are_not_affected(client, low_rates, clock):
    alice, bob = bearer(UserFactory()), bearer(UserFactory())
    assert [get_me(client, alice, ip="10.0.0.1").status_code for _ in range(3)] == [200, 200, 200]
    refused = get_me(client, alice, ip="10.0.0.2")  # a new address does not reset the user's bucket
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert "throttled" in refused.json()["detail"].lower()
    assert get_me(client, bob, ip="10.0.0.3").status_code == 200

    clock.shift(timedelta(seconds=61))
    assert get_me(client, alice).status_code == 200


def test_an_address_over_the_rate_is_refused_whoever_signs_in_from_it(client, low_rates, clock):
    tokens = [bearer(UserFactory()) for _ in range(3)]
    codes = [get_me(client, token, ip="10.9.9.9").status_code for token in tokens for _ in range(2)]
    assert codes == [200, 200, 200, 200, 200, 429]
    assert get_me(client, tokens[0], ip="10.9.9.10").status_code == 200


def test_anonymous_callers_of_public_endpoints_are_counted_per_address(client, low_rates, clock):
    # (Endpoints that need a signed-in user answer 401 before any throttle is consulted.)
    codes = [client.get("/api/schema/", REMOTE_ADDR="10.1.1.1").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert client.get("/api/schema/", REMOTE_ADDR="10.1.1.2").status_code == 200


def test_forwarded_for_is_ignored_unless_proxies_are_declared(client, low_rates, clock):
    token = bearer(UserFactory())
    other = bearer(UserFactory())
    # Spoofed X-Forwarded-For values do not give a caller fresh buckets.
    for i in range(5):
        client.get(
            "/api/me",
            HTTP_AUTHORIZATION=[token, other][i % 2],
            REMOTE_ADDR="10.2.2.2",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{i}",
        )
    assert (
        client.get(
            "/api/me", HTTP_AUTHORIZATION=other, REMOTE_ADDR="10.2.2.2", HTTP_X_FORWARDED_FOR="198.51.100.99"
        ).status_code
        == 429
    )


def test_the_counters_live_in_redis(client, low_rates):
    from dealscale.redis_client import get_redis

    get_me(client, bearer(UserFactory()))
    keys = [key.decode() for key in get_redis().keys("*throttle_*")]
    assert any("throttle_user_" in key for key in keys)
    assert any("throttle_ip_10.0.0.1" in key for key in keys)


def test_allauth_refuses_a_burst_of_login_posts_with_429(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "2/m/ip"}
    UserFactory(username="carol")
    codes = [
        client.post(
            "/accounts/login/", {"login": "carol", "password": "wrong"}, REMOTE_ADDR="10.3.3.3"
        ).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]


def test_allauth_stops_password_guessing_after_the_failed_login_limit(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "10/m/ip,2/5m/key"}
    UserFactory(username="dave", email="dave@example.com")
    for _ in range(2):
        client.post("/accounts/login/", {"login": "dave", "password": "wrong"})
    blocked = client.post("/accounts/login/", {"login": "dave", "password": PASSWORD})
    assert blocked.status_code == 200
    assert "Too many failed login attempts" in blocked.content.decode()
    assert "_auth_user_id" not in client.session


def test_allauth_refuses_a_burst_of_signups_with_429(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "1/m/ip"}
    form = {
        "username": "erin",
        "email": "erin@example.com",
        "password1": "a-long-Passw0rd!",
        "password2": "x",
    }
    assert client.post("/accounts/signup/", form, REMOTE_ADDR="10.4.4.4").status_code == 200
    assert client.post("/accounts/signup/", form, REMOTE_ADDR="10.4.4.4").status_code == 429


def test_the_score_webhook_is_limited_per_service_key(client, low_rates, clock):
    from leaderboard.services import create_service_key
    from leaderboard.signing import SIGNATURE_HEADER, sign

    def post(key: str, secret: str):
        body = b'{"events": []}'
        return client.post(
            "/api/score-events",
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key}",
            headers={SIGNATURE_HEADER: sign(secret=secret, body=body)},
        )

    _, crm_key, crm_secret = create_service_key(name="crm")
    _, shop_key, shop_secret = create_service_key(name="shop")
    first, second, third = (post(crm_key, crm_secret) for _ in range(3))
    assert first.status_code not in (401, 403, 429) and second.status_code not in (401, 403, 429)
    assert third.status_code == 429
    assert 0 < int(third["Retry-After"]) <= 60
    assert post(shop_key, shop_secret).status_code not in (401, 403, 429)


def test_a_dead_cache_lets_requests_through_instead_of_failing_them(client, low_rates, settings):
    token = bearer(UserFactory())
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    assert [get_me(client, token).status_code for _ in range(5)] == [200] * 5

"""The rate-limit governor keeps every process under Discord's limits, against the fake Discord."""

import threading
import time

import pytest
import structlog

from dealscale.redis_client import get_redis
from discord_rest.client import (
    DiscordClient,
    DiscordForbidden,
    DiscordInvalidRequestLimit,
    DiscordRateLimited,
)
from discord_rest.ratelimit import Governor, MemoryStore, RedisStore, identity_for, route_key
from discord_sandbox import APPLICATION_ID, BOT_TOKEN, GUILD_ID

ROLES = "/guilds/{guild_id}/roles"
BOT = identity_for(f"Bot {BOT_TOKEN}")


@pytest.fixture(params=["redis", "memory"])
def governor(request):
    store = RedisStore(get_redis()) if request.param == "redis" else MemoryStore()
    return Governor(store)


def redis_governor():
    return Governor(RedisStore(get_redis()))


def run_in_threads(count, work):
    errors = []

    def target(index):
        try:
            work(index)
        except Exception as exc:  # noqa: BLE001 - collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    if errors:
        raise errors[0]


@pytest.mark.parametrize(
    ("method", "path", "name", "major"),
    [
        ("PUT", "/guilds/1/members/2/roles/3", "PUT /guilds/{major}/members/{id}/roles/{id}", "guilds/1"),
        ("post", "/channels/9/messages", "POST /channels/{major}/messages", "channels/9"),
        (
            "POST",
            "/interactions/5/tok/callback",
            "POST /interactions/{major}/{major}/callback",
            "interactions/5/sha256:1a7674eb4ee78df7",
        ),
        (
            "PATCH",
            "/webhooks/7/tok/messages/@original",
            "PATCH /webhooks/{major}/{major}/messages/@original",
            "webhooks/7/sha256:1a7674eb4ee78df7",
        ),
        ("GET", "/users/@me", "GET /users/@me", ""),
    ],
)
def test_routes_keep_only_the_major_parameter(method, path, name, major):
    key = route_key(method, path)

    assert (key.name, key.major) == (name, major)


def test_a_rate_limited_webhook_is_logged_without_its_token(governor):
    route = route_key("POST", "/webhooks/7/SECRET-WEBHOOK-TOKEN")

    with structlog.testing.capture_logs() as logs:
        governor.record_response(
            route,
            identity="anonymous",
            status=429,
            headers={"Retry-After": "0.1", "Via": "1.1 google"},
            body={"retry_after": 0.1},
        )
        governor._pause_for(governor.reserve(route, identity="anonymous"), route, max_wait=5)

    assert [line["event"] for line in logs] == ["discord_rate_limited", "discord_rate_limit_wait"]
    assert "SECRET-WEBHOOK-TOKEN" not in repr(logs)


def test_interaction_callbacks_and_webhooks_are_exempt_from_the_global_limit():
    assert route_key("POST", "/interactions/5/tok/callback").global_exempt
    assert route_key("POST", "/webhooks/7/tok").global_exempt
    assert not route_key("POST", "/channels/9/messages").global_exempt


def test_the_bucket_is_learned_from_the_headers(fake_discord):
    fake_discord.set_rate_limit("GET", ROLES, limit=3, window=5, bucket="roles-bucket")
    DiscordClient(governor=redis_governor()).get_guild_roles(GUILD_ID)

    redis = get_redis()
    route = route_key("GET", f"/guilds/{GUILD_ID}/roles")
    assert redis.get(f"discord:rl:route:{BOT}:{route.name}") == b"roles-bucket"
    bucket = redis.hgetall(f"discord:rl:bucket:{BOT}:roles-bucket:{route.major}")
    assert (bucket[b"limit"], bucket[b"remaining"], bucket[b"pending"]) == (b"3", b"2", b"0")


def test_it_waits_for_the_reset_instead_of_getting_a_429(fake_discord, governor):
    fake_discord.set_rate_limit("GET", ROLES, limit=2, window=0.4)
    waits = []

    def sleep(seconds):
        waits.append(seconds)
        time.sleep(seconds)

    client = DiscordClient(governor=governor, sleep=sleep)

    for _ in range(5):
        client.get_guild_roles(GUILD_ID)

    assert fake_discord.ratelimit_hits == {}
    assert [r.status for r in fake_discord.requests_to("GET", ROLES)] == [200] * 5
    assert any(wait > 0.1 for wait in waits)


def test_a_429_pauses_the_bucket_for_every_thread_so_only_one_is_answered(fake_discord):
    fake_discord.set_rate_limit("GET", ROLES, limit=50, window=5, bucket="roles")
    fake_discord.fail_next("GET", ROLES, status=429, retry_after=0.3)
    governor = redis_governor()

    run_in_threads(
        6, lambda i: [DiscordClient(governor=governor).get_guild_roles(GUILD_ID) for _ in range(2)]
    )

    calls = fake_discord.requests_to("GET", ROLES)
    limited = [r for r in calls if r.status == 429]
    assert len(limited) == 1
    assert [r.status for r in calls].count(200) == 12
    assert all(r.time >= limited[0].time + 0.3 for r in calls if r.time > limited[0].time)


def test_two_processes_share_the_global_limit(fake_discord, settings):
    settings.DISCORD_GLOBAL_RATE_LIMIT = 8
    fake_discord.global_limit = 8
    # Different channels so only the global limit binds, not a route bucket.
    channels = [fake_discord.add_channel(name=f"c{i}")["id"] for i in range(24)]
    workers = [DiscordClient(governor=redis_governor()), DiscordClient(governor=redis_governor())]

    run_in_threads(
        2, lambda i: [workers[i].send_message(channels[i * 12 + n], content="hi") for n in range(12)]
    )

    assert fake_discord.ratelimit_hits.get("global", 0) == 0
    assert len(fake_discord.sent_messages()) == 24


def test_without_the_shared_governor_the_same_load_trips_the_global_limit(fake_discord, settings):
    settings.DISCORD_GLOBAL_RATE_LIMIT = 8
    fake_discord.global_limit = 8
    channels = [fake_discord.add_channel(name=f"c{i}")["id"] for i in range(24)]
    workers = [DiscordClient(governor=Governor(MemoryStore()), max_retries=0) for _ in range(2)]
    refused = []

    def send_all(index):
        for n in range(12):
            try:
                workers[index].send_message(channels[index * 12 + n], content="hi")
            except DiscordRateLimited:
                refused.append(n)
                return

    run_in_threads(2, send_all)

    assert fake_discord.ratelimit_hits.get("global", 0) >= 1
    assert refused


def test_a_global_429_pauses_every_process(fake_discord):
    first, second = redis_governor(), redis_governor()
    fake_discord.fail_next("GET", "/users/@me", status=429, retry_after=2.0, is_global=True)

    with pytest.raises(DiscordRateLimited):
        DiscordClient(governor=first, max_retries=0).get_current_user()

    reservation = second.reserve(route_key("GET", f"/channels/{APPLICATION_ID}"), identity=BOT)
    assert reservation.reason == "global_pause"
    assert 1.5 < reservation.wait <= 2.0


def test_forbidden_and_unauthorized_answers_count_as_invalid_requests(fake_discord, governor):
    user = fake_discord.add_user()
    fake_discord.add_member(GUILD_ID, user["id"])
    admin = fake_discord.add_role(name="Admin", position=99)
    client = DiscordClient(governor=governor)

    for _ in range(2):
        with pytest.raises(DiscordForbidden):
            client.add_member_role(GUILD_ID, user["id"], admin["id"], reason="x")

    assert governor.invalid_requests() == 2


def test_a_shared_scope_429_is_not_an_invalid_request(fake_discord, governor):
    fake_discord.fail_next("GET", ROLES, status=429, retry_after=0.05, scope="shared")

    DiscordClient(governor=governor).get_guild_roles(GUILD_ID)

    assert governor.invalid_requests() == 0


def test_at_the_invalid_request_ceiling_non_essential_calls_stop_but_oauth_goes_on(fake_discord, governor):
    governor._invalid_ceiling = 3
    governor.record_invalid(3)
    client = DiscordClient(governor=governor)
    tokens = fake_discord.grant_tokens(user_id=fake_discord.add_user()["id"])
    sent_before = len(fake_discord.requests)

    with pytest.raises(DiscordInvalidRequestLimit):
        client.get_guild_roles(GUILD_ID)
    user = client.get_user_with_bearer(tokens["access_token"])

    assert user["id"]
    assert len(fake_discord.requests) == sent_before + 1


def test_routes_sharing_a_bucket_hash_share_its_limit(fake_discord):
    fake_discord.set_rate_limit("GET", ROLES, limit=3, window=0.5, bucket="guild-read")
    fake_discord.set_rate_limit("GET", "/guilds/{guild_id}", limit=3, window=0.5, bucket="guild-read")
    client = DiscordClient(governor=redis_governor())

    for _ in range(4):
        client.get_guild_roles(GUILD_ID)
        client.request("GET", f"/guilds/{GUILD_ID}")

    assert fake_discord.ratelimit_hits == {}
    assert len(fake_discord.requests_to("GET")) == 8


def test_a_global_429_on_a_routes_first_request_does_not_hold_the_route(fake_discord, governor):
    fake_discord.fail_next("GET", ROLES, status=429, retry_after=0.1, is_global=True)
    waits = []

    def sleep(seconds):
        waits.append(seconds)
        time.sleep(seconds)

    DiscordClient(governor=governor, sleep=sleep).get_guild_roles(GUILD_ID)

    assert [r.status for r in fake_discord.requests_to("GET", ROLES)] == [429, 200]
    assert sum(waits) < 1

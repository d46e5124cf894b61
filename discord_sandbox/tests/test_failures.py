"""Injected failures: Discord's errors, hung responses and lost answers, before or after the work is done."""

import pytest
import requests

from discord_sandbox import APPLICATION_ID, DEFAULT_CHANNEL_ID, GUILD_ID
from discord_sandbox.tests.helpers import BASIC

MESSAGES = f"/channels/{DEFAULT_CHANNEL_ID}/messages"
MESSAGES_ROUTE = "/channels/{channel_id}/messages"


def test_a_failure_after_the_work_creates_the_message_but_answers_502(api, fake_discord):
    fake_discord.fail_next("POST", MESSAGES_ROUTE, status=502, after_work=True)

    lost = api("POST", MESSAGES, json={"content": "Request #7 approved"})
    retried = api("POST", MESSAGES, json={"content": "Request #7 approved"})

    assert (lost.status_code, retried.status_code) == (502, 200)
    assert len(fake_discord.sent_messages(DEFAULT_CHANNEL_ID)) == 2
    assert [r.handled for r in fake_discord.requests_to("POST", MESSAGES_ROUTE)] == [True, True]


def test_a_failure_before_the_work_does_nothing(api, fake_discord):
    fake_discord.fail_next("POST", MESSAGES_ROUTE, status=503)

    response = api("POST", MESSAGES, json={"content": "hi"})

    assert response.status_code == 503
    assert response.headers["Content-Type"].startswith("text/html")
    assert fake_discord.sent_messages() == []
    assert fake_discord.requests_to("POST", MESSAGES_ROUTE)[0].handled is False


@pytest.mark.parametrize("after_work", [False, True])
def test_a_dropped_connection_answers_nothing(api, fake_discord, after_work):
    fake_discord.fail_next("POST", MESSAGES_ROUTE, disconnect=True, after_work=after_work)

    with pytest.raises(requests.ConnectionError):
        api("POST", MESSAGES, json={"content": "hi"})

    recorded = fake_discord.requests_to("POST", MESSAGES_ROUTE)[0]
    assert (recorded.status, recorded.handled) == (0, after_work)
    assert len(fake_discord.sent_messages()) == (1 if after_work else 0)


def test_a_hung_response_outlasts_the_client_timeout_after_doing_the_work(api, fake_discord):
    fake_discord.fail_next("POST", MESSAGES_ROUTE, hang=30, after_work=True)

    with pytest.raises(requests.Timeout):
        api("POST", MESSAGES, json={"content": "hi"}, timeout=0.5)

    assert len(fake_discord.sent_messages()) == 1


def test_a_reset_releases_a_hung_request_without_doing_its_work(api, fake_discord):
    fake_discord.fail_next("POST", MESSAGES_ROUTE, hang=30)
    with pytest.raises(requests.Timeout):
        api("POST", MESSAGES, json={"content": "from the previous test"}, timeout=0.5)
    hung = fake_discord.requests_to("POST", MESSAGES_ROUTE)[0]

    fake_discord.server.reset()
    fake_discord.wait_until(lambda: hung.done)

    assert (hung.status, hung.handled) == (0, False)
    assert fake_discord.sent_messages() == []


def test_a_hang_alone_answers_late_but_normally(api, fake_discord):
    fake_discord.fail_next("GET", "/users/@me", hang=0.2)

    assert api("GET", "/users/@me").status_code == 200


def test_a_failure_can_target_one_kind_of_request(api, fake_discord):
    user = fake_discord.add_user()
    tokens = fake_discord.grant_tokens(user_id=user["id"])
    fake_discord.fail_next(
        "GET",
        "/users/@me",
        status=401,
        when=lambda r: r.headers.get("Authorization", "").startswith("Bearer "),
    )

    as_bot = api("GET", "/users/@me")
    as_user = api("GET", "/users/@me", headers={"Authorization": f"Bearer {tokens['access_token']}"})

    assert as_bot.status_code == 200
    assert (as_user.status_code, as_user.json()) == (401, {"message": "401: Unauthorized", "code": 0})


def test_the_token_endpoint_fails_in_oauths_shape_and_per_grant_type(api, fake_discord):
    user = fake_discord.add_user()
    tokens = fake_discord.grant_tokens(user_id=user["id"])
    code = fake_discord.authorize(user_id=user["id"], redirect_uri="http://testserver/cb/")
    fake_discord.fail_next(
        "POST",
        "/oauth2/token",
        status=401,
        when=lambda r: (r.form or {}).get("grant_type") == "refresh_token",
    )

    exchanged = api(
        "POST",
        "/oauth2/token",
        headers=BASIC,
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": "http://testserver/cb/"},
    )
    refreshed = api(
        "POST",
        "/oauth2/token",
        headers=BASIC,
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )

    assert exchanged.status_code == 200
    assert (refreshed.status_code, refreshed.json()) == (401, {"error": "invalid_client"})
    assert not fake_discord.is_revoked(tokens["refresh_token"])


def test_a_429_on_the_token_endpoint_carries_retry_after_and_via(api, fake_discord):
    fake_discord.fail_next("POST", "/oauth2/token", status=429, retry_after=2.5)

    response = api("POST", "/oauth2/token", headers=BASIC, data={"grant_type": "refresh_token"})

    assert response.status_code == 429
    assert response.json()["retry_after"] == 2.5
    assert (response.headers["Retry-After"], response.headers["Via"]) == ("3", "1.1 google")


def test_fail_next_needs_a_way_to_fail(fake_discord):
    with pytest.raises(ValueError):
        fake_discord.fail_next("GET", "/users/@me")


def test_without_the_guild_members_intent_listing_members_is_refused(api, fake_discord):
    member = fake_discord.add_user()
    fake_discord.add_member(GUILD_ID, member["id"])
    fake_discord.guild_members_intent = False

    listed = api("GET", f"/guilds/{GUILD_ID}/members", params={"limit": 10})
    one = api("GET", f"/guilds/{GUILD_ID}/members/{member['id']}")

    assert (listed.status_code, listed.json()) == (403, {"message": "Missing Access", "code": 50001})
    assert one.status_code == 200


def test_the_interaction_routes_fail_on_demand_too(api, fake_discord):
    payload = fake_discord.create_interaction(user_id=fake_discord.add_user()["id"])
    callback = f"/interactions/{payload['id']}/{payload['token']}/callback"
    fake_discord.fail_next(
        "POST", "/interactions/{interaction_id}/{interaction_token}/callback", status=500, after_work=True
    )

    lost = api("POST", callback, headers={}, json={"type": 4, "data": {"content": "hi"}})
    retried = api("POST", callback, headers={}, json={"type": 4, "data": {"content": "hi"}})
    original = api("GET", f"/webhooks/{APPLICATION_ID}/{payload['token']}/messages/@original", headers={})

    assert lost.status_code == 500
    assert (retried.status_code, retried.json()["code"]) == (400, 40060)
    assert original.json()["content"] == "hi"

"""The Discord client against the fake Discord: mapping, retries, OAuth encoding, audit-log reasons."""

import base64
import socket
import time

import pytest
import requests
import structlog
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, NewConnectionError

from discord_rest.client import (
    DiscordClient,
    DiscordError,
    DiscordForbidden,
    DiscordNotFound,
    DiscordRateLimited,
    DiscordServerError,
    DiscordUnauthorized,
    nonce_for,
)
from discord_sandbox import APPLICATION_ID, CLIENT_SECRET, DEFAULT_CHANNEL_ID, GUILD_ID

ROLE_ROUTE = "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"


class RecordingSleep(list):
    """Sleeps for real (the governor re-checks after waking) and remembers every pause."""

    def __call__(self, seconds):
        self.append(seconds)
        time.sleep(seconds)


@pytest.fixture
def sleeps():
    return RecordingSleep()


@pytest.fixture
def client(fake_discord, sleeps):
    return DiscordClient(sleep=sleeps)


@pytest.fixture
def member(fake_discord):
    user = fake_discord.add_user(username="alice")
    fake_discord.add_member(GUILD_ID, user["id"])
    return user


@pytest.fixture
def gold(fake_discord):
    return fake_discord.add_role(name="Gold", position=3)


def test_it_sends_the_bot_token_and_user_agent_to_the_configured_base_url(client, fake_discord):
    me = client.get_current_user()

    request = fake_discord.requests_to("GET", "/users/@me")[0]
    assert me["id"] == APPLICATION_ID
    assert request.headers["Authorization"] == f"Bot {fake_discord.bot_token}"
    assert request.headers["User-Agent"].startswith("DiscordBot (")


def test_role_changes_carry_the_url_quoted_audit_log_reason(client, fake_discord, member, gold):
    client.add_member_role(GUILD_ID, member["id"], gold["id"], reason="Reached 1,000 credits: Gold ✓")
    client.remove_member_role(GUILD_ID, member["id"], gold["id"], reason="Fell below 1,000 credits")

    put, delete = fake_discord.requests_to(route=ROLE_ROUTE)
    assert put.headers["X-Audit-Log-Reason"] == "Reached 1%2C000 credits%3A Gold %E2%9C%93"
    assert put.audit_log_reason == "Reached 1,000 credits: Gold ✓"
    assert delete.audit_log_reason == "Fell below 1,000 credits"
    assert fake_discord.member_roles(GUILD_ID, member["id"]) == []


def test_a_5xx_is_retried_with_backoff_then_succeeds(client, fake_discord, sleeps):
    fake_discord.fail_next("GET", "/guilds/{guild_id}/roles", status=502, times=2)

    roles = client.get_guild_roles(GUILD_ID)

    assert {r["name"] for r in roles} >= {"@everyone", "DealScale"}
    assert len(fake_discord.requests_to("GET", "/guilds/{guild_id}/roles")) == 3
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0] - 0.01


def test_5xx_on_every_attempt_raises_a_server_error(client, fake_discord):
    fake_discord.fail_next("GET", "/guilds/{guild_id}/roles", status=503, times=10)

    with pytest.raises(DiscordServerError) as caught:
        client.get_guild_roles(GUILD_ID)

    assert caught.value.status == 503
    assert len(fake_discord.requests_to("GET", "/guilds/{guild_id}/roles")) == client.max_retries + 1


def test_a_403_is_raised_at_once_with_discords_code(client, fake_discord, member):
    admin = fake_discord.add_role(name="Admin", position=50)

    with pytest.raises(DiscordForbidden) as caught:
        client.add_member_role(GUILD_ID, member["id"], admin["id"], reason="x")

    assert (caught.value.status, caught.value.code) == (403, 50013)
    assert len(fake_discord.requests_to("PUT", ROLE_ROUTE)) == 1


def test_a_404_maps_to_not_found_with_the_unknown_member_code(client, gold):
    with pytest.raises(DiscordNotFound) as caught:
        client.get_guild_member(GUILD_ID, "123")

    assert caught.value.code == 10007
    assert caught.value.message == "Unknown Member"


def test_a_bad_bot_token_raises_unauthorized_without_retrying(fake_discord):
    client = DiscordClient(token="not-the-token")

    with pytest.raises(DiscordUnauthorized):
        client.get_current_user()

    assert len(fake_discord.requests_to("GET", "/users/@me")) == 1


def test_a_429_waits_retry_after_then_succeeds(client, fake_discord, sleeps):
    fake_discord.fail_next("GET", "/guilds/{guild_id}/roles", status=429, retry_after=0.2)

    client.get_guild_roles(GUILD_ID)

    assert len(fake_discord.requests_to("GET", "/guilds/{guild_id}/roles")) == 2
    assert 0.2 <= sum(sleeps) < 1


def test_a_429_longer_than_the_maximum_wait_is_raised_with_retry_after(client, fake_discord, settings):
    settings.DISCORD_MAX_RETRY_AFTER = 5
    fake_discord.fail_next("GET", "/guilds/{guild_id}/roles", status=429, retry_after=1336.57, scope="shared")

    with pytest.raises(DiscordRateLimited) as caught:
        client.get_guild_roles(GUILD_ID)

    assert caught.value.retry_after == pytest.approx(1336.57)
    assert len(fake_discord.requests_to("GET", "/guilds/{guild_id}/roles")) == 1


class FlakyAdapter(HTTPAdapter):
    """Fails the first ``failures`` sends with a connection error, like a dropped TCP connection."""

    def __init__(self, failures):
        super().__init__()
        self.failures = failures

    def send(self, request, **kwargs):
        if self.failures:
            self.failures -= 1
            raise requests.ConnectionError("connection reset by peer")
        return super().send(request, **kwargs)


def test_a_network_error_is_retried(fake_discord, sleeps):
    session = requests.Session()
    session.mount("http://", FlakyAdapter(failures=2))
    client = DiscordClient(sleep=sleeps, session=session)

    assert client.get_current_user()["id"] == APPLICATION_ID
    assert len(sleeps) == 2


class LostResponseAdapter(HTTPAdapter):
    """Delivers the request, then loses the connection before the response arrives."""

    def send(self, request, **kwargs):
        super().send(request, **kwargs)
        raise requests.ConnectionError("connection reset by peer")


class RefusedOnceAdapter(HTTPAdapter):
    """Fails the first connect the way urllib3 reports a refused connection, before anything is sent."""

    def __init__(self):
        super().__init__()
        self.refused = False

    def send(self, request, **kwargs):
        if not self.refused:
            self.refused = True
            refused = NewConnectionError(None, "Connection refused")
            raise requests.ConnectionError(MaxRetryError(None, request.url, refused), request=request)
        return super().send(request, **kwargs)


def client_with(adapter, sleeps):
    session = requests.Session()
    session.mount("http://", adapter)
    return DiscordClient(sleep=sleeps, session=session)


def test_a_post_whose_response_was_lost_is_not_retried_unless_discord_deduplicates_it(fake_discord, sleeps):
    client = client_with(LostResponseAdapter(), sleeps)

    with pytest.raises(DiscordServerError):
        client.request("POST", f"/channels/{DEFAULT_CHANNEL_ID}/messages", json={"content": "Season 3"})

    assert len(fake_discord.requests_to("POST", "/channels/{channel_id}/messages")) == 1
    assert sleeps == []


def test_a_message_whose_response_was_lost_is_retried_with_its_nonce_and_sent_once(fake_discord, sleeps):
    client = client_with(LostResponseAdapter(), sleeps)

    with pytest.raises(DiscordServerError):
        client.send_message(DEFAULT_CHANNEL_ID, content="Season 3 starts now", nonce=nonce_for("event:1"))

    posts = fake_discord.requests_to("POST", "/channels/{channel_id}/messages")
    assert len(posts) == client.max_retries + 1
    assert {post.json["nonce"] for post in posts} == {nonce_for("event:1")}
    assert len(fake_discord.created_messages) == 1


def test_an_event_nonce_is_stable_short_and_distinct_per_event_and_deployment(settings):
    here = nonce_for("decision_dm:12")
    assert here == nonce_for("decision_dm:12") != nonce_for("decision_dm:13")
    assert len(here) == 25
    settings.SECRET_KEY = "another-deployment-sharing-the-bot"
    assert nonce_for("decision_dm:12") != here


def test_a_nonce_longer_than_discord_allows_is_refused_before_calling_discord(client, fake_discord):
    with pytest.raises(ValueError, match="25"):
        client.send_message(DEFAULT_CHANNEL_ID, content="x", nonce="n" * 26)
    assert fake_discord.requests == []


def test_a_message_whose_5xx_came_after_discord_created_it_is_sent_once(client, fake_discord, sleeps):
    fake_discord.fail_next("POST", "/channels/{channel_id}/messages", status=502, after_work=True)

    message = client.send_message(DEFAULT_CHANNEL_ID, content="Season 3 starts now")

    posts = fake_discord.requests_to("POST", "/channels/{channel_id}/messages")
    assert [post.status for post in posts] == [502, 200]
    assert posts[0].json["nonce"] == posts[1].json["nonce"] and posts[0].json["enforce_nonce"] is True
    assert [m["id"] for m in fake_discord.created_messages] == [message["id"]]


def test_a_post_whose_connection_was_refused_is_retried(fake_discord, sleeps):
    client = client_with(RefusedOnceAdapter(), sleeps)

    client.send_message(DEFAULT_CHANNEL_ID, content="Season 3 starts now")

    assert len(fake_discord.requests_to("POST", "/channels/{channel_id}/messages")) == 1
    assert len(sleeps) == 1


def test_an_unreachable_discord_raises_a_server_error_after_the_retries(fake_discord, sleeps):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    client = DiscordClient(base_url=f"http://127.0.0.1:{port}/api/v10", sleep=sleeps, max_retries=2)

    with pytest.raises(DiscordServerError) as caught:
        client.get_current_user()

    assert caught.value.status == 0
    assert len(sleeps) == 2


def test_a_network_error_on_a_webhook_route_keeps_the_token_out_of_the_log_and_the_error(
    fake_discord, sleeps
):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    client = DiscordClient(base_url=f"http://127.0.0.1:{port}/api/v10", sleep=sleeps, max_retries=1)

    with structlog.testing.capture_logs() as logs, pytest.raises(DiscordServerError) as caught:
        client.request("GET", "/webhooks/7/SECRET-WEBHOOK-TOKEN", auth="none")

    assert [line["event"] for line in logs].count("discord_network_error") == 2
    assert "SECRET-WEBHOOK-TOKEN" not in repr(logs)
    assert "SECRET-WEBHOOK-TOKEN" not in str(caught.value)


def test_members_are_iterated_across_pages(client, fake_discord):
    for index in range(5):
        fake_discord.add_member(GUILD_ID, fake_discord.add_user(str(100 + index))["id"])

    ids = [m["user"]["id"] for m in client.iter_guild_members(GUILD_ID, page_size=2)]

    assert ids == ["100", "101", "102", "103", "104", APPLICATION_ID]
    assert [r.query.get("after") for r in fake_discord.requests_to("GET", "/guilds/{guild_id}/members")] == [
        "0",
        "101",
        "103",
        APPLICATION_ID,
    ]


def test_send_dm_opens_the_channel_and_posts_without_pings(client, fake_discord, member):
    message = client.send_dm(member["id"], content="Your request was approved", embeds=[{"title": "Credits"}])

    posted = fake_discord.requests_to("POST", "/channels/{channel_id}/messages")[0]
    assert fake_discord.dms_to(member["id"]) == [message]
    assert posted.json["allowed_mentions"] == {"parse": []}
    assert message["embeds"] == [{"title": "Credits"}]


def test_a_dm_to_a_user_who_closed_dms_raises_forbidden_50007(client, fake_discord):
    user = fake_discord.add_user(dms_closed=True)

    with pytest.raises(DiscordForbidden) as caught:
        client.send_dm(user["id"], content="hi")

    assert caught.value.code == 50007


def test_edit_message_patches_the_fields(client, fake_discord):
    message = client.send_message(DEFAULT_CHANNEL_ID, content="a")

    edited = client.edit_message(message["channel_id"], message["id"], content="b")

    assert edited["content"] == "b" and edited["edited_timestamp"]


def test_commands_are_bulk_overwritten_and_read_back(client):
    created = client.bulk_overwrite_commands(
        APPLICATION_ID, [{"name": "balance", "description": "Credits"}], guild_id=GUILD_ID
    )

    assert client.get_commands(APPLICATION_ID, guild_id=GUILD_ID) == created
    assert client.get_commands(APPLICATION_ID) == []


def _basic(request):
    return base64.b64decode(request.headers["Authorization"].removeprefix("Basic ")).decode()


def test_exchange_code_posts_a_form_with_basic_client_auth(client, fake_discord, member):
    code = fake_discord.authorize(user_id=member["id"], redirect_uri="http://testserver/cb/")

    tokens = client.exchange_code(code=code, redirect_uri="http://testserver/cb/")

    request = fake_discord.requests_to("POST", "/oauth2/token")[0]
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.form == {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": "http://testserver/cb/",
    }
    assert _basic(request) == f"{APPLICATION_ID}:{CLIENT_SECRET}"
    assert client.get_user_with_bearer(tokens["access_token"])["id"] == member["id"]


def test_a_used_code_raises_invalid_grant(client, fake_discord, member):
    code = fake_discord.authorize(user_id=member["id"], redirect_uri="http://testserver/cb/")
    client.exchange_code(code=code, redirect_uri="http://testserver/cb/")

    with pytest.raises(DiscordError) as caught:
        client.exchange_code(code=code, redirect_uri="http://testserver/cb/")

    assert (caught.value.status, caught.value.error) == (400, "invalid_grant")


def test_refresh_rotates_and_revoke_ends_the_grant(client, fake_discord, member):
    tokens = fake_discord.grant_tokens(user_id=member["id"])

    refreshed = client.refresh_access_token(refresh_token=tokens["refresh_token"])
    client.revoke_token(token=refreshed["access_token"], token_type_hint="access_token")

    revoke = fake_discord.requests_to("POST", "/oauth2/token/revoke")[0]
    assert refreshed["refresh_token"] != tokens["refresh_token"]
    assert revoke.form == {"token": refreshed["access_token"], "token_type_hint": "access_token"}
    assert fake_discord.is_revoked(refreshed["refresh_token"])
    with pytest.raises(DiscordUnauthorized):
        client.get_user_with_bearer(refreshed["access_token"])

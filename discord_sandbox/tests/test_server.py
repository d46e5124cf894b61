"""The fake Discord behaves like Discord where our code and nextcord depend on it."""

import time
from urllib.parse import parse_qs, urlsplit

from discord_sandbox import APPLICATION_ID, CLIENT_SECRET, GUILD_ID
from discord_sandbox.tests.helpers import BASIC, BOT


def test_json_responses_have_exactly_the_application_json_content_type(api):
    response = api("GET", "/users/@me")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["id"] == APPLICATION_ID


def test_a_request_without_the_bot_token_gets_discords_401_body(api, fake_discord):
    response = api("GET", "/guilds/" + GUILD_ID, headers={"Authorization": "Bot wrong"})

    assert response.status_code == 401
    assert response.json() == {"message": "401: Unauthorized", "code": 0}
    assert fake_discord.invalid_requests == 1


def test_every_response_carries_rate_limit_headers(api):
    headers = api("GET", f"/guilds/{GUILD_ID}/roles").headers

    for name in (
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
        "X-RateLimit-Reset-After",
        "X-RateLimit-Bucket",
    ):
        assert name in headers


def test_a_role_at_or_above_the_bots_top_role_cannot_be_assigned(api, fake_discord):
    user = fake_discord.add_user()
    fake_discord.add_member(GUILD_ID, user["id"])
    high = fake_discord.add_role(name="Admin", position=10)
    managed = fake_discord.add_role(name="Booster", position=1, managed=True)

    for role in (high, managed):
        response = api("PUT", f"/guilds/{GUILD_ID}/members/{user['id']}/roles/{role['id']}")
        assert response.status_code == 403
        assert response.json()["code"] == 50013
    assert fake_discord.member_roles(GUILD_ID, user["id"]) == []


def test_role_changes_answer_unknown_member_and_unknown_role(api, fake_discord):
    user = fake_discord.add_user()
    fake_discord.add_member(GUILD_ID, user["id"])
    role = fake_discord.add_role(name="Gold", position=2)

    unknown_member = api("PUT", f"/guilds/{GUILD_ID}/members/42/roles/{role['id']}")
    unknown_role = api("DELETE", f"/guilds/{GUILD_ID}/members/{user['id']}/roles/42")

    assert (unknown_member.status_code, unknown_member.json()["code"]) == (404, 10007)
    assert (unknown_role.status_code, unknown_role.json()["code"]) == (404, 10011)


def test_role_changes_record_the_url_decoded_audit_log_reason(api, fake_discord):
    user = fake_discord.add_user()
    fake_discord.add_member(GUILD_ID, user["id"])
    role = fake_discord.add_role(name="Gold", position=2)

    response = api(
        "PUT",
        f"/guilds/{GUILD_ID}/members/{user['id']}/roles/{role['id']}",
        headers={**BOT, "X-Audit-Log-Reason": "Reached%20100%20credits%20%E2%9C%93"},
    )

    assert response.status_code == 204
    assert fake_discord.member_roles(GUILD_ID, user["id"]) == [role["id"]]
    assert fake_discord.requests_to("PUT")[-1].audit_log_reason == "Reached 100 credits ✓"


def test_members_are_paged_by_user_id_and_the_page_size_is_capped(api, fake_discord):
    for user_id in ("300", "100", "200"):
        fake_discord.add_member(GUILD_ID, fake_discord.add_user(user_id)["id"])

    first = api("GET", f"/guilds/{GUILD_ID}/members", params={"limit": 2}).json()
    rest = api(
        "GET", f"/guilds/{GUILD_ID}/members", params={"limit": 2, "after": first[-1]["user"]["id"]}
    ).json()
    too_big = api("GET", f"/guilds/{GUILD_ID}/members", params={"limit": 1001})

    assert [m["user"]["id"] for m in first] == ["100", "200"]
    assert [m["user"]["id"] for m in rest] == ["300", APPLICATION_ID]
    assert too_big.status_code == 400


def test_a_route_over_its_limit_answers_429_with_retry_after_and_a_via_header(api, fake_discord):
    fake_discord.set_rate_limit("GET", "/guilds/{guild_id}/roles", limit=2, window=5)

    statuses = [api("GET", f"/guilds/{GUILD_ID}/roles") for _ in range(3)]

    assert [r.status_code for r in statuses] == [200, 200, 429]
    limited = statuses[-1]
    assert limited.headers["Via"] == "1.1 google"
    assert limited.headers["X-RateLimit-Scope"] == "user"
    assert limited.json()["global"] is False
    assert 0 < limited.json()["retry_after"] <= 5
    assert statuses[1].headers["X-RateLimit-Remaining"] == "0"
    assert sum(fake_discord.ratelimit_hits.values()) == 1


def test_the_global_limit_answers_a_global_429(api, fake_discord):
    fake_discord.global_limit = 3
    second = int(time.time())
    while time.time() - second > 0.5:  # keep all four calls inside one wall-clock second
        time.sleep(0.05)
        second = int(time.time())

    statuses = [api("GET", "/users/@me") for _ in range(4)]

    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    assert statuses[-1].json()["global"] is True
    assert statuses[-1].headers["X-RateLimit-Global"] == "true"


def test_injected_failures_answer_the_next_calls_then_stop(api, fake_discord):
    fake_discord.fail_next("GET", "/users/@me", status=502, times=2)

    statuses = [api("GET", "/users/@me").status_code for _ in range(3)]

    assert statuses == [502, 502, 200]


def test_authorize_redirects_with_a_code_and_the_given_state(api, fake_discord):
    alice = fake_discord.add_user(username="alice")
    fake_discord.oauth_consent_user_id = alice["id"]

    response = api(
        "GET",
        "/oauth2/authorize",
        headers={},
        params={
            "client_id": APPLICATION_ID,
            "response_type": "code",
            "scope": "identify email",
            "redirect_uri": "http://testserver/cb/",
            "state": "xyz",
        },
    )

    location = urlsplit(response.headers["Location"])
    query = parse_qs(location.query)
    assert response.status_code == 302
    assert location.path == "/cb/" and query["state"] == ["xyz"]
    assert fake_discord.grant_by(code=query["code"][0]).user_id == alice["id"]


def test_authorize_reports_a_denial_when_configured(api, fake_discord):
    fake_discord.oauth_deny = True

    response = api(
        "GET",
        "/oauth2/authorize",
        headers={},
        params={
            "client_id": APPLICATION_ID,
            "response_type": "code",
            "scope": "identify",
            "redirect_uri": "http://testserver/cb/",
            "state": "s1",
        },
    )

    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["error"] == ["access_denied"] and query["state"] == ["s1"]


def test_the_token_endpoint_refuses_a_json_body(api, fake_discord):
    code = fake_discord.authorize(user_id=fake_discord.add_user()["id"], redirect_uri="http://testserver/cb/")

    response = api(
        "POST",
        "/oauth2/token",
        headers=BASIC,
        json={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://testserver/cb/",
        },
    )

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_a_code_works_once_and_a_refresh_rotates_the_refresh_token(api, fake_discord):
    user = fake_discord.add_user()
    code = fake_discord.authorize(
        user_id=user["id"], scope="identify email", redirect_uri="http://testserver/cb/"
    )
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": "http://testserver/cb/"}

    tokens = api("POST", "/oauth2/token", headers=BASIC, data=form).json()
    replay = api("POST", "/oauth2/token", headers=BASIC, data=form)
    refreshed = api(
        "POST",
        "/oauth2/token",
        headers={},
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": APPLICATION_ID,
            "client_secret": CLIENT_SECRET,
        },
    ).json()
    old_refresh = api(
        "POST",
        "/oauth2/token",
        headers=BASIC,
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
        },
    )

    assert (
        tokens["token_type"] == "Bearer"
        and tokens["expires_in"] == 604800
        and tokens["scope"] == "identify email"
    )
    assert (replay.status_code, replay.json()["error"]) == (400, "invalid_grant")
    assert refreshed["refresh_token"] != tokens["refresh_token"]
    assert (old_refresh.status_code, old_refresh.json()["error"]) == (400, "invalid_grant")


def test_revoking_either_token_ends_the_whole_grant(api, fake_discord):
    user = fake_discord.add_user()
    tokens = fake_discord.grant_tokens(user_id=user["id"])

    revoked = api("POST", "/oauth2/token/revoke", headers=BASIC, data={"token": tokens["refresh_token"]})
    me = api("GET", "/users/@me", headers={"Authorization": f"Bearer {tokens['access_token']}"})

    assert revoked.status_code == 200
    assert me.status_code == 401
    assert fake_discord.is_revoked(tokens["access_token"])


def test_bearer_users_me_hides_the_email_without_the_email_scope(api, fake_discord):
    user = fake_discord.add_user(username="bob", email="bob@example.com")
    with_email = fake_discord.grant_tokens(user_id=user["id"], scope="identify email")
    without = fake_discord.grant_tokens(user_id=user["id"], scope="identify")

    full = api("GET", "/users/@me", headers={"Authorization": f"Bearer {with_email['access_token']}"}).json()
    bare = api("GET", "/users/@me", headers={"Authorization": f"Bearer {without['access_token']}"}).json()

    assert (
        full["email"] == "bob@example.com" and full["discriminator"] == "0" and full["global_name"] == "Bob"
    )
    assert "email" not in bare


def test_an_interaction_can_be_answered_once(api, fake_discord):
    user = fake_discord.add_user()
    interaction = fake_discord.create_interaction(name="balance", user_id=user["id"])
    path = f"/interactions/{interaction['id']}/{interaction['token']}/callback"

    first = api("POST", path, headers={}, json={"type": 4, "data": {"content": "100 credits", "flags": 64}})
    second = api("POST", path, headers={}, json={"type": 4, "data": {"content": "again"}})
    original = api("GET", f"/webhooks/{APPLICATION_ID}/{interaction['token']}/messages/@original", headers={})

    assert first.status_code == 204
    assert (second.status_code, second.json()["code"]) == (400, 40060)
    assert original.json()["content"] == "100 credits"


def test_original_response_requests_are_recorded_under_the_original_route(api, fake_discord):
    user = fake_discord.add_user()
    interaction = fake_discord.create_interaction(name="balance", user_id=user["id"])
    callback = f"/interactions/{interaction['id']}/{interaction['token']}/callback"
    api("POST", callback, headers={}, json={"type": 5})

    original = f"/webhooks/{APPLICATION_ID}/{interaction['token']}/messages/@original"
    api("PATCH", original, headers={}, json={"content": "100 credits"})

    webhook_messages = "/webhooks/{webhook_id}/{webhook_token}/messages/"
    assert [r.status for r in fake_discord.requests_to("PATCH", webhook_messages + "@original")] == [200]
    assert fake_discord.requests_to("PATCH", webhook_messages + "{message_id}") == []


def test_an_unknown_interaction_answers_10062(api):
    response = api("POST", "/interactions/1/nope/callback", headers={}, json={"type": 5})

    assert (response.status_code, response.json()["code"]) == (404, 10062)


def test_bulk_overwrite_returns_the_commands_with_ids_and_keeps_ids_by_name(api, fake_discord):
    path = f"/applications/{APPLICATION_ID}/guilds/{GUILD_ID}/commands"

    first = api("PUT", path, json=[{"name": "balance", "description": "Your credits"}]).json()
    second = api(
        "PUT", path, json=[{"name": "balance", "description": "Credits"}, {"name": "top", "description": "x"}]
    ).json()

    assert (
        first[0]["id"] and first[0]["guild_id"] == GUILD_ID and first[0]["application_id"] == APPLICATION_ID
    )
    assert second[0]["id"] == first[0]["id"]
    assert [c["name"] for c in api("GET", path).json()] == ["balance", "top"]


def test_dms_to_a_user_who_closed_them_are_refused_with_50007(api, fake_discord):
    user = fake_discord.add_user(dms_closed=True)

    channel = api("POST", "/users/@me/channels", json={"recipient_id": user["id"]}).json()
    response = api("POST", f"/channels/{channel['id']}/messages", json={"content": "hi"})

    assert (response.status_code, response.json()["code"]) == (403, 50007)
    assert fake_discord.dms_to(user["id"]) == []


def test_a_user_is_fetched_by_id_without_private_fields(api, fake_discord):
    user = fake_discord.add_user(username="carol")

    fetched = api("GET", f"/users/{user['id']}").json()
    me = api("GET", "/users/@me").json()

    assert fetched["username"] == "carol" and "email" not in fetched
    assert me["id"] == APPLICATION_ID

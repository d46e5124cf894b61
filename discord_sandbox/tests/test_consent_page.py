"""The OAuth authorize step as a page: who the visitor is, the scopes asked, and Discord's redirect back."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from discord_sandbox import APPLICATION_ID, GUILD_ID

PARAMS = {
    "client_id": APPLICATION_ID,
    "response_type": "code",
    "scope": "identify email",
    "redirect_uri": "http://127.0.0.1:8000/accounts/discord/login/callback/",
    "state": "s-123",
}


@pytest.fixture
def consent(fake_discord):
    fake_discord.oauth_consent_page = True
    fake_discord.application_name = "DealScale Discord"
    return fake_discord


def authorize_url(fake_discord) -> str:
    return f"{fake_discord.base_url}/oauth2/authorize"


def post(fake_discord, **form):
    return requests.post(
        authorize_url(fake_discord), data={**PARAMS, **form}, allow_redirects=False, timeout=5
    )


def test_the_page_names_the_app_the_scopes_asked_and_the_sandbox_users(consent):
    consent.add_user(username="alice", global_name="Alice Moreau")

    page = requests.get(authorize_url(consent), params=PARAMS, timeout=5)

    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "<h1>Authorize DealScale Discord</h1>" in page.text
    assert "Access your username, avatar, and banner" in page.text
    assert "Access your email address" in page.text
    assert "Alice Moreau" in page.text and "@alice" in page.text
    assert "Create a new Discord user" in page.text
    assert 'name="state" value="s-123"' in page.text


def test_authorizing_as_a_sandbox_user_redirects_with_a_code_and_the_state(consent):
    alice = consent.add_user(username="alice")

    answer = post(consent, decision="authorize", user_id=alice["id"])

    location = urlsplit(answer.headers["Location"])
    query = parse_qs(location.query)
    assert answer.status_code == 302
    assert f"{location.scheme}://{location.netloc}{location.path}" == PARAMS["redirect_uri"]
    assert query["state"] == ["s-123"]
    grant = consent.grant_by(code=query["code"][0])
    assert grant.user_id == alice["id"] and grant.scope == "identify email"
    assert answer.cookies["discord_sandbox_user"] == alice["id"]


def test_a_new_sandbox_user_joins_the_guild_and_is_authorized(consent):
    answer = post(consent, decision="authorize", user_id="new", new_username="Sam.Newcomer")

    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    user_id = consent.grant_by(code=code).user_id
    assert consent.users[user_id]["username"] == "sam.newcomer"
    assert consent.member_roles(GUILD_ID, user_id) == []


def test_cancel_redirects_with_access_denied_as_discord_does(consent):
    answer = post(consent, decision="cancel", user_id="new")

    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["error"] == ["access_denied"] and query["state"] == ["s-123"]
    assert "code" not in query


@pytest.mark.parametrize("username", ["x", "has space", "UPPER!"])
def test_a_bad_new_username_shows_the_page_again_with_the_problem(consent, username):
    answer = post(consent, decision="authorize", user_id="new", new_username=username)

    assert answer.status_code == 400
    assert "A username is 2 to 32 characters" in answer.text
    assert consent.grants == []


def test_a_taken_username_is_refused(consent):
    consent.add_user(username="alice")

    answer = post(consent, decision="authorize", user_id="new", new_username="alice")

    assert answer.status_code == 400 and "taken" in answer.text


def test_a_wrong_client_id_shows_discords_invalid_request_page(consent):
    page = requests.get(authorize_url(consent), params={**PARAMS, "client_id": "42"}, timeout=5)

    assert page.status_code == 400
    assert "Invalid OAuth2 request" in page.text


def test_the_bare_authorize_path_serves_the_page_and_posts_to_the_api_route(consent):
    page = requests.get(f"{consent.origin}/oauth2/authorize", params=PARAMS, timeout=5)

    assert page.status_code == 200
    assert 'action="/api/oauth2/authorize"' in page.text

"""End to end through allauth's real views and the fake Discord on 127.0.0.1."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.socialaccount.models import SocialAccount
from django.db import connection

from accounts.models import AuditEvent, DiscordToken, OAuthAttempt, User
from accounts.signals import discord_linked
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def live_grant(fake, discord_id):
    return next(g for g in reversed(fake.state.grants) if g.user_id == discord_id and g.access_token)


def test_starting_the_login_redirects_to_the_authorize_url_under_the_api_base_with_a_state(flow, settings):
    authorize = flow.start()
    parts = urlsplit(authorize)
    query = parse_qs(parts.query)
    assert authorize.startswith(f"{settings.DISCORD_API_BASE_URL}/oauth2/authorize?")
    assert query["client_id"] == [settings.DISCORD_CLIENT_ID]
    assert query["response_type"] == ["code"]
    assert set(query["scope"][0].split()) == {"identify", "email", "role_connections.write"}
    assert query["redirect_uri"] == ["http://testserver/accounts/discord/login/callback/"]
    assert len(query["state"][0]) >= 12


def test_starting_the_login_with_get_only_shows_a_confirmation_form(flow, client):
    response = client.get("/accounts/discord/login/?process=login")
    assert response.status_code == 200
    assert b'method="post"' in response.content
    assert not flow.fake.requests_to("GET", "/oauth2/authorize")


def test_the_configured_redirect_uri_is_the_one_sent_to_discord(flow, settings):
    settings.DISCORD_REDIRECT_URI = "https://discord.dealscale.example/accounts/discord/login/callback/"
    authorize = flow.start()
    assert parse_qs(urlsplit(authorize).query)["redirect_uri"] == [settings.DISCORD_REDIRECT_URI]
    callback = flow.consent(authorize)
    response = flow.callback(callback)
    assert response.status_code == 302
    token_call = flow.fake.requests_to("POST", "/oauth2/token")[-1]
    assert token_call.form["redirect_uri"] == settings.DISCORD_REDIRECT_URI


def test_a_first_discord_sign_in_creates_a_user_logs_in_and_stores_the_tokens_encrypted(
    flow, client, discord_user, django_capture_on_commit_callbacks
):
    linked = []

    def on_linked(sender, user, discord_id, **kwargs):
        linked.append((user, discord_id))

    discord_linked.connect(on_linked)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = flow.run(next_url="/profile/")
    finally:
        discord_linked.disconnect(on_linked)

    assert response.status_code == 302
    assert response["Location"] == "/profile/"
    user = User.objects.get(socialaccount__uid=discord_user["id"])
    assert user.email == "alice@discord.example"
    assert user.display_name == "Alice D"
    assert int(client.session["_auth_user_id"]) == user.pk

    grant = live_grant(flow.fake, discord_user["id"])
    token = DiscordToken.objects.get(social_account__user=user)
    assert token.access_token_encrypted == grant.access_token
    assert token.refresh_token_encrypted == grant.refresh_token
    assert token.expires_at is not None and not token.needs_relink
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token_encrypted, refresh_token_encrypted FROM accounts_discordtoken")
        raw_access, raw_refresh = cursor.fetchone()
    assert grant.access_token not in raw_access and grant.refresh_token not in raw_refresh

    assert OAuthAttempt.objects.filter(succeeded=True).count() == 1
    assert AuditEvent.objects.filter(action="discord.linked", target_id=str(user.pk)).count() == 1
    assert linked == [(user, discord_user["id"])]
    # allauth's own token table stays empty: tokens live only in DiscordToken, encrypted.
    assert not SocialAccount.objects.get(user=user).socialtoken_set.exists()


def test_signing_in_again_keeps_the_identity_in_step_and_stores_the_new_tokens(flow, client, discord_user):
    flow.run()
    user = User.objects.get(socialaccount__uid=discord_user["id"])
    client.logout()
    flow.fake.state.users[discord_user["id"]].update(
        username="alice_new", global_name="Alice N", avatar="def456"
    )

    response = flow.run()

    assert response.status_code == 302
    account = SocialAccount.objects.get(user=user)
    assert (account.extra_data["username"], account.extra_data["global_name"]) == ("alice_new", "Alice N")
    assert (
        DiscordToken.objects.get(social_account=account).access_token_encrypted
        == live_grant(flow.fake, discord_user["id"]).access_token
    )
    assert User.objects.count() == 1
    # A sign-in is not a new link.
    assert AuditEvent.objects.filter(action="discord.linked").count() == 1


def test_an_existing_user_connects_discord_from_the_profile(flow, client, member, discord_user):
    client.force_login(member)

    response = flow.run(process="connect", next_url="/profile/")

    assert response.status_code == 302 and response["Location"] == "/profile/"
    account = SocialAccount.objects.get(user=member, provider="discord")
    assert account.uid == discord_user["id"]
    assert DiscordToken.objects.filter(social_account=account).exists()
    event = AuditEvent.objects.get(action="discord.linked")
    assert (event.actor, event.target_id, event.data["discord_id"]) == (
        member,
        str(member.pk),
        discord_user["id"],
    )
    profile = client.get("/profile/")
    assert discord_user["id"].encode() in profile.content
    assert b"Alice D" in profile.content


def test_a_discord_account_linked_to_someone_else_is_refused_with_a_clear_message(flow, client, discord_user):
    flow.run()
    owner = User.objects.get(socialaccount__uid=discord_user["id"])
    owner_token = DiscordToken.objects.get(social_account__user=owner).access_token_encrypted
    other = UserFactory(username="bob")
    client.force_login(other)

    response = flow.run(process="connect", next_url="/profile/")

    assert response.status_code == 302
    page = client.get(response["Location"])
    assert "already connected to a different account" in page.content.decode()
    assert not SocialAccount.objects.filter(user=other).exists()
    assert SocialAccount.objects.get(uid=discord_user["id"]).user == owner
    # The refused attempt's tokens do not overwrite the owner's.
    assert DiscordToken.objects.get(social_account__user=owner).access_token_encrypted == owner_token
    assert AuditEvent.objects.filter(action="discord.linked").count() == 1


def test_a_callback_with_a_wrong_state_links_nothing_and_counts_as_an_oauth_failure(
    flow, client, member, discord_user
):
    client.force_login(member)
    callback = flow.consent(flow.start(process="connect"))

    response = flow.callback(callback, state="forged-state-value")

    assert response.status_code == 401
    assert "Discord sign-in failed" in response.content.decode()
    assert "not started from this browser" in response.content.decode()
    assert not SocialAccount.objects.exists()
    attempt = OAuthAttempt.objects.get()
    assert (attempt.succeeded, attempt.error) == (False, "state mismatched")
    # No code was spent: allauth stopped before calling Discord's token endpoint.
    assert not flow.fake.requests_to("POST", "/oauth2/token")


def test_a_callback_without_a_state_is_refused(flow, client, discord_user):
    callback = flow.consent(flow.start())
    response = flow.callback(callback, state=None)
    assert response.status_code == 401
    assert OAuthAttempt.objects.get().error == "state missing"
    assert not User.objects.exists()


def test_a_state_from_another_browser_is_refused(flow, client, discord_user, django_user_model):
    from django.test import Client

    callback = flow.consent(flow.start())
    response = Client().get(callback)
    assert response.status_code == 401
    assert not django_user_model.objects.exists()


def test_a_user_cancelling_on_discord_ends_on_a_clear_page(flow, client, discord_user):
    flow.fake.state.oauth_deny = True
    response = flow.run()
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert "You cancelled on Discord" in page.content.decode()
    attempt = OAuthAttempt.objects.get()
    assert not attempt.succeeded and "access_denied" in attempt.error
    assert not User.objects.exists()


def test_an_error_from_discord_ends_on_the_error_page(flow, discord_user):
    authorize = flow.start()
    callback = flow.consent(authorize)
    response = flow.callback(callback, code=None, error="server_error")
    assert response.status_code == 401
    assert "Discord reported an error" in response.content.decode()
    assert OAuthAttempt.objects.get().error == "Discord returned error=server_error"


def test_a_bad_code_is_refused_by_discord_and_links_nothing(flow, client, member, discord_user):
    client.force_login(member)
    callback = flow.consent(flow.start(process="connect"))

    response = flow.callback(callback, code="not-a-real-code")

    assert response.status_code == 401
    assert "authorization code was invalid" in response.content.decode()
    assert flow.fake.requests_to("POST", "/oauth2/token")[-1].status == 400
    assert not SocialAccount.objects.exists() and not DiscordToken.objects.exists()
    attempt = OAuthAttempt.objects.get()
    assert not attempt.succeeded and "invalid_grant" in attempt.error


def test_every_discord_call_of_the_flow_goes_to_the_api_base_url(flow, discord_user):
    flow.run()
    routes = {(r.method, r.route) for r in flow.fake.requests_to()}
    assert routes == {("GET", "/oauth2/authorize"), ("POST", "/oauth2/token"), ("GET", "/users/@me")}
    token_call = flow.fake.requests_to("POST", "/oauth2/token")[0]
    # Discord's token endpoint takes form-encoded bodies only.
    assert token_call.form["grant_type"] == "authorization_code"


def test_a_discord_account_without_email_signs_up_after_giving_one(flow, client, fake_discord):
    phone_only = fake_discord.add_user(username="phoneonly", email="", verified=False)
    fake_discord.state.users[phone_only["id"]].pop("email")
    fake_discord.state.oauth_consent_user_id = phone_only["id"]

    response = flow.run()

    assert response.status_code == 302 and response["Location"] == "/accounts/3rdparty/signup/"
    form_page = client.get(response["Location"])
    assert "did not share an email address" in form_page.content.decode()
    assert not User.objects.exists()
    # While the form waits, the parked login (token included) sits in the session table: encrypted.
    grant = live_grant(fake_discord, phone_only["id"])
    stored_session = json.dumps(client.session.load())
    assert "socialaccount_sociallogin" in stored_session
    assert grant.access_token not in stored_session and grant.refresh_token not in stored_session

    missing = client.post("/accounts/3rdparty/signup/", {"email": "", "username": "phoneonly"})
    assert missing.status_code == 200 and "This field is required" in missing.content.decode()
    done = client.post("/accounts/3rdparty/signup/", {"email": "phone@example.com", "username": "phoneonly"})

    assert done.status_code == 302
    user = User.objects.get(socialaccount__uid=phone_only["id"])
    assert user.email == "phone@example.com"
    assert DiscordToken.objects.get(social_account__user=user).access_token_encrypted == grant.access_token
    assert AuditEvent.objects.filter(action="discord.linked", target_id=str(user.pk)).exists()


def test_reconnecting_with_a_different_discord_account_is_refused(
    flow, client, member, discord_user, fake_discord
):
    client.force_login(member)
    flow.run(process="connect")
    other = fake_discord.add_user(username="someone_else")
    fake_discord.state.oauth_consent_user_id = other["id"]

    response = flow.run(process="connect", next_url="/profile/")

    assert response.status_code == 302 and response["Location"] == "/profile/"
    assert "already linked to another Discord account" in client.get("/profile/").content.decode()
    assert list(SocialAccount.objects.filter(user=member).values_list("uid", flat=True)) == [
        discord_user["id"]
    ]
    assert AuditEvent.objects.filter(action="discord.linked").count() == 1


# --- Discord failing during the callback: a clear page, an OAuth failure recorded, nothing linked -------

PROFILE = "/users/@me"
TOKEN = "/oauth2/token"


def assert_failed_cleanly(response, *, page_says: str, reason_has: str):
    assert response.status_code < 500
    assert response.status_code == 401
    assert "Discord sign-in failed" in response.content.decode()
    assert page_says in response.content.decode()
    assert not SocialAccount.objects.exists() and not DiscordToken.objects.exists()
    assert not AuditEvent.objects.filter(action="discord.linked").exists()
    attempt = OAuthAttempt.objects.get()
    assert not attempt.succeeded and reason_has in attempt.error
    # The log-safe reason never carries a token.
    assert "Bearer" not in attempt.error


@pytest.mark.parametrize(
    ("failure", "page_says", "reason_has"),
    [
        # Longer than a browser should wait: refused at once, not slept through.
        ({"status": 429, "retry_after": 30.0}, "Discord is busy", "profile call rate limited by Discord"),
        ({"status": 401}, "did not let us read your Discord profile", "profile call refused (401)"),
        ({"status": 503, "times": 2}, "Discord is busy", "profile call failed: Discord answered 503"),
        ({"status": 500, "times": 2}, "Discord is busy", "profile call failed: Discord answered 500"),
        ({"disconnect": True, "times": 2}, "Discord is busy", "profile call failed: network error"),
        (
            {"status": 200, "body": {"message": "no user here"}},
            "did not let us read your Discord profile",
            "profile call answered without a user id",
        ),
    ],
    ids=["429", "401", "503", "500", "dropped", "no-id"],
)
def test_a_failing_profile_call_ends_on_a_clear_page_and_links_nothing(
    flow, client, member, discord_user, failure, page_says, reason_has
):
    client.force_login(member)
    flow.fake.fail_next("GET", PROFILE, **failure)

    response = flow.run(process="connect")

    assert_failed_cleanly(response, page_says=page_says, reason_has=reason_has)


def test_a_hung_profile_call_times_out_to_a_clear_page(flow, client, member, discord_user, settings):
    settings.DISCORD_HTTP_TIMEOUT = 2.0
    client.force_login(member)
    # The read is repeated once (it is safe to repeat): both attempts hang past the timeout.
    flow.fake.fail_next("GET", PROFILE, hang=6.0, times=2)

    response = flow.run(process="connect")

    assert_failed_cleanly(response, page_says="Discord is busy", reason_has="network error: ReadTimeout")


def test_a_brief_rate_limit_on_the_profile_call_is_waited_out(flow, discord_user):
    flow.fake.fail_next("GET", PROFILE, status=429, retry_after=0.2)

    response = flow.run()

    assert response.status_code == 302
    assert SocialAccount.objects.filter(uid=discord_user["id"]).exists()
    assert OAuthAttempt.objects.get().succeeded


@pytest.mark.parametrize(
    ("failure", "page_says", "reason_has"),
    [
        ({"status": 503}, "Discord is busy", "token exchange failed: Discord answered 503"),
        ({"status": 429, "retry_after": 30.0}, "Discord is busy", "token exchange rate limited"),
        (
            {"status": 401, "body": {"error": "invalid_client"}},
            "authorization code was invalid",
            "token exchange refused (401): invalid_client",
        ),
        ({"status": 200, "body": {"token_type": "Bearer"}}, "Discord is busy", "without an access token"),
    ],
    ids=["503", "429", "invalid_client", "no-token"],
)
def test_a_failing_token_exchange_ends_on_a_clear_page_and_links_nothing(
    flow, discord_user, failure, page_says, reason_has
):
    flow.fake.fail_next("POST", TOKEN, **failure)

    response = flow.run()

    assert_failed_cleanly(response, page_says=page_says, reason_has=reason_has)
    assert not User.objects.exists()


def test_a_token_exchange_is_sent_once_even_after_a_server_error(flow, discord_user):
    # Discord may have spent the code before the 5xx: a repeat could only be refused.
    flow.fake.fail_next("POST", TOKEN, status=502, times=5)

    flow.run()

    assert len(flow.fake.requests_to("POST", TOKEN)) == 1

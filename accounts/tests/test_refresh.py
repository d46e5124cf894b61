"""get_valid_access_token: refresh under a row lock, rotation of the refresh token, relink required."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.errors import DiscordTemporarilyUnavailable, NotLinked, RelinkRequired
from accounts.models import DiscordToken, OAuthAttempt
from accounts.services import get_valid_access_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def linked(flow, client, member, discord_user):
    client.force_login(member)
    flow.run(process="connect")
    return member


def expire(member):
    DiscordToken.objects.filter(social_account__user=member).update(
        expires_at=timezone.now() + timedelta(seconds=30)
    )


def test_a_fresh_token_is_returned_without_calling_discord(linked, flow):
    calls = len(flow.fake.requests_to("POST", "/oauth2/token"))
    token = get_valid_access_token(linked)
    assert token == DiscordToken.objects.get().access_token_encrypted
    assert len(flow.fake.requests_to("POST", "/oauth2/token")) == calls


def test_an_expiring_token_is_refreshed_and_the_rotated_pair_saved(linked, flow):
    old = DiscordToken.objects.get()
    expire(linked)

    token = get_valid_access_token(linked)

    refreshed = DiscordToken.objects.get()
    assert token == refreshed.access_token_encrypted != old.access_token_encrypted
    assert refreshed.refresh_token_encrypted != old.refresh_token_encrypted
    assert refreshed.expires_at > timezone.now() + timedelta(days=1)
    call = flow.fake.requests_to("POST", "/oauth2/token")[-1]
    assert call.form == {"grant_type": "refresh_token", "refresh_token": old.refresh_token_encrypted}
    # Discord rotated the refresh token: the old one no longer works, the saved one does.
    assert flow.fake.is_revoked(old.refresh_token_encrypted)
    assert flow.fake.grant_by(access_token=token) is not None


def test_a_refused_refresh_asks_the_member_to_link_again(linked, flow, client):
    expire(linked)
    flow.fake.fail_next("POST", "/oauth2/token", status=400, body={"error": "invalid_grant"})

    with pytest.raises(RelinkRequired):
        get_valid_access_token(linked)

    assert DiscordToken.objects.get().needs_relink
    with pytest.raises(RelinkRequired):
        get_valid_access_token(linked)
    assert "Your Discord link expired — reconnect" in client.get("/profile/").content.decode()


def test_linking_again_clears_the_relink_banner(linked, flow, client):
    DiscordToken.objects.update(needs_relink=True)
    flow.run(process="connect")
    assert not DiscordToken.objects.get().needs_relink
    assert "Your Discord link expired" not in client.get("/profile/").content.decode()


def test_a_discord_outage_keeps_the_tokens_and_does_not_ask_for_a_relink(linked, flow):
    before = DiscordToken.objects.get()
    expire(linked)
    flow.fake.fail_next("POST", "/oauth2/token", status=503, times=10)

    with pytest.raises(DiscordTemporarilyUnavailable):
        get_valid_access_token(linked)

    after = DiscordToken.objects.get()
    assert not after.needs_relink
    assert after.refresh_token_encrypted == before.refresh_token_encrypted


def test_a_member_without_a_link_gets_not_linked(member):
    with pytest.raises(NotLinked):
        get_valid_access_token(member)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_callers_refresh_once_and_get_the_same_token(fake_discord, settings, token_key):
    """Without the row lock both would spend the same refresh token; Discord would refuse the second."""
    from allauth.socialaccount.models import SocialAccount

    from accounts.tests.factories import UserFactory

    member = UserFactory()
    discord = fake_discord.add_user(username="racer")
    tokens = fake_discord.grant_tokens(user_id=discord["id"])
    account = SocialAccount.objects.create(user=member, provider="discord", uid=discord["id"])
    DiscordToken.objects.create(
        social_account=account,
        access_token_encrypted=tokens["access_token"],
        refresh_token_encrypted=tokens["refresh_token"],
        expires_at=timezone.now() + timedelta(seconds=5),
    )
    barrier = threading.Barrier(2)
    results, errors = [], []

    def caller():
        try:
            barrier.wait(5)
            results.append(get_valid_access_token(member))
        except Exception as error:  # noqa: BLE001 - the assertion below reports it
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=caller) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)

    assert errors == []
    assert len(results) == 2 and results[0] == results[1]
    assert len(fake_discord.requests_to("POST", "/oauth2/token")) == 1
    assert not DiscordToken.objects.get().needs_relink


# --- The refresh rule: a refresh whose answer was lost is never repeated at once --------------------

TOKEN = "/oauth2/token"


def refresh_calls(fake) -> list:
    return [
        r for r in fake.requests_to("POST", TOKEN) if r.form and r.form.get("grant_type") == "refresh_token"
    ]


def a_minute_passes():
    DiscordToken.objects.update(refresh_uncertain_since=timezone.now() - timedelta(minutes=2))


def is_refresh(request) -> bool:
    return request.form["grant_type"] == "refresh_token"


def test_a_server_error_on_refresh_is_not_retried_and_marks_the_refresh_uncertain(linked, flow):
    before = DiscordToken.objects.get()
    expire(linked)
    flow.fake.fail_next("POST", TOKEN, status=502, times=5, when=is_refresh)

    with pytest.raises(DiscordTemporarilyUnavailable):
        get_valid_access_token(linked)

    assert len(refresh_calls(flow.fake)) == 1
    after = DiscordToken.objects.get()
    assert after.refresh_uncertain_since is not None and not after.needs_relink
    assert after.refresh_token_encrypted == before.refresh_token_encrypted
    # Within the minute nobody spends the token again, however often the token is asked for.
    with pytest.raises(DiscordTemporarilyUnavailable, match="tried again in a minute"):
        get_valid_access_token(linked)
    assert len(refresh_calls(flow.fake)) == 1
    failure = OAuthAttempt.objects.filter(succeeded=False).get()
    assert failure.error == "token refresh failed: Discord answered 502"


def test_after_a_minute_one_more_refresh_succeeds_when_discord_had_not_rotated(linked, flow):
    expire(linked)
    flow.fake.fail_next("POST", TOKEN, status=503, when=is_refresh)
    with pytest.raises(DiscordTemporarilyUnavailable):
        get_valid_access_token(linked)
    a_minute_passes()

    token = get_valid_access_token(linked)

    stored = DiscordToken.objects.get()
    assert token == stored.access_token_encrypted
    assert stored.refresh_uncertain_since is None and not stored.needs_relink
    assert len(refresh_calls(flow.fake)) == 2
    # The sign-in callback, then this refresh.
    assert OAuthAttempt.objects.filter(succeeded=True).count() == 2


def test_a_lost_answer_that_had_rotated_the_token_ends_in_a_relink(linked, flow, client):
    expire(linked)
    # Discord rotates the pair, then the answer is lost.
    flow.fake.fail_next("POST", TOKEN, status=502, after_work=True, when=is_refresh)
    with pytest.raises(DiscordTemporarilyUnavailable):
        get_valid_access_token(linked)
    a_minute_passes()

    with pytest.raises(RelinkRequired):
        get_valid_access_token(linked)

    stored = DiscordToken.objects.get()
    assert stored.needs_relink and stored.refresh_uncertain_since is None
    assert len(refresh_calls(flow.fake)) == 2
    refused = OAuthAttempt.objects.filter(error__startswith="token refresh refused").get()
    assert "after a refresh that got no answer" in refused.error and "invalid_grant" in refused.error
    assert "Your Discord link expired — reconnect" in client.get("/profile/").content.decode()


def test_a_timed_out_refresh_is_uncertain_too(linked, flow, settings):
    settings.DISCORD_HTTP_TIMEOUT = 2.0
    expire(linked)
    flow.fake.fail_next("POST", TOKEN, hang=6.0, when=is_refresh)

    with pytest.raises(DiscordTemporarilyUnavailable):
        get_valid_access_token(linked)

    assert len(refresh_calls(flow.fake)) == 1
    assert DiscordToken.objects.get().refresh_uncertain_since is not None


def test_a_rate_limited_refresh_is_not_uncertain(linked, flow):
    # A 429 means Discord did not act: nothing was rotated, the next caller may refresh at once.
    expire(linked)
    flow.fake.fail_next("POST", TOKEN, status=429, retry_after=120.0, when=is_refresh)

    with pytest.raises(DiscordTemporarilyUnavailable):
        get_valid_access_token(linked)

    assert DiscordToken.objects.get().refresh_uncertain_since is None


def test_a_refused_refresh_is_recorded_as_an_oauth_failure(linked, flow):
    expire(linked)
    flow.fake.fail_next("POST", TOKEN, status=400, body={"error": "invalid_grant"}, when=is_refresh)

    with pytest.raises(RelinkRequired):
        get_valid_access_token(linked)

    assert (
        OAuthAttempt.objects.filter(succeeded=False, error__startswith="token refresh refused").count() == 1
    )

"""The account pages render, label their fields and link the flows; /api/me has its documented shape."""

import re
from types import SimpleNamespace

import pytest
from allauth.socialaccount.models import SocialAccount
from rest_framework.test import APIClient

from accounts.models import APIToken, AuditEvent
from accounts.services import create_api_token
from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url, heading",
    [
        ("/accounts/login/", "Log in"),
        ("/accounts/signup/", "Create your account"),
        ("/accounts/password/reset/", "Reset your password"),
    ],
)
def test_the_entrance_pages_render_in_the_site_layout(client, url, heading):
    page = client.get(url).content.decode()
    assert f"<h1>{heading}</h1>" in page
    assert 'class="site-header"' in page and "site.css" in page
    assert 'name="viewport"' in page


def test_every_visible_form_field_has_a_label(client):
    for url in ("/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"):
        page = client.get(url).content.decode()
        ids = re.findall(r'<input[^>]*type="(?:text|email|password)"[^>]*id="([^"]+)"', page)
        assert ids, url
        for field_id in ids:
            assert f'for="{field_id}"' in page, (url, field_id)


def test_a_wrong_password_shows_an_error_announced_to_screen_readers(client, member):
    page = client.post("/accounts/login/", {"login": "alice", "password": "wrong"}).content.decode()
    assert 'role="alert"' in page
    assert "not correct" in page


def test_signing_up_with_email_and_password_lands_on_the_profile(client):
    response = client.post(
        "/accounts/signup/",
        {"email": "new@example.com", "username": "newbie", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302 and response["Location"] == "/profile/"
    assert client.get("/profile/").status_code == 200


def test_logging_in_by_email_or_username_works_and_logout_needs_a_post(client, member):
    for login in ("alice", "alice@example.com"):
        response = client.post("/accounts/login/", {"login": login, "password": PASSWORD})
        assert response.status_code == 302 and response["Location"] == "/profile/"
        assert client.get("/accounts/logout/").status_code == 200  # a confirmation page, still logged in
        assert client.get("/profile/").status_code == 200
        client.post("/accounts/logout/")
        assert client.get("/profile/").status_code == 302


def test_the_profile_requires_a_login(client):
    response = client.get("/profile/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_profile_shows_the_discord_identity_balance_and_api_tokens(client, member, token_key, discord_on):
    SocialAccount.objects.create(
        user=member,
        provider="discord",
        uid="80351110224678912",
        extra_data={
            "id": "80351110224678912",
            "username": "nelly",
            "global_name": "Nelly",
            "avatar": "8342729096ea3675442027381ff50dfe",
        },
    )
    create_api_token(user=member, name="laptop")
    client.force_login(member)

    page = client.get("/profile/").content.decode()

    assert "Nelly" in page and "@nelly" in page and "80351110224678912" in page
    assert "https://cdn.discordapp.com/avatars/80351110224678912/8342729096ea3675442027381ff50dfe.png" in page
    assert "Unlink Discord" in page and "Connect Discord" not in page
    assert "credits" in page
    assert "laptop" in page and APIToken.objects.get().prefix in page


def test_creating_an_api_token_shows_the_key_once_and_revoking_removes_it(client, member):
    client.force_login(member)
    created = client.post("/profile/api-tokens/", {"name": "ci"}).content.decode()
    token = APIToken.objects.get(user=member)
    assert AuditEvent.objects.filter(action="api_token.created", target_id=str(token.pk)).exists()
    key_shown = created.split('id="new-token" type="text" value="')[1].split('"')[0]
    assert APIToken.hash_key(key_shown) == token.key_hash
    assert key_shown not in client.get("/profile/").content.decode()

    client.post(f"/profile/api-tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_an_api_token_without_a_name_is_refused_with_a_field_error(client, member):
    client.force_login(member)
    response = client.post("/profile/api-tokens/", {"name": ""})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()
    assert not APIToken.objects.exists()


def test_a_member_cannot_revoke_someone_elses_token(client, member):
    other_token, _ = create_api_token(user=UserFactory(), name="theirs")
    client.force_login(member)
    response = client.post(f"/profile/api-tokens/{other_token.pk}/revoke/", follow=True)
    assert "does not exist" in response.content.decode()
    other_token.refresh_from_db()
    assert other_token.revoked_at is None


def test_the_connections_page_lists_discord_with_an_unlink_button(client, member, token_key):
    SocialAccount.objects.create(user=member, provider="discord", uid="42", extra_data={"username": "al"})
    client.force_login(member)
    page = client.get("/accounts/3rdparty/").content.decode()
    assert "Connected accounts" in page and "Unlink" in page


def test_api_me_without_discord(member):
    api = APIClient()
    _, key = create_api_token(user=member)
    response = api.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("id", "username", "email", "discord")} == {
        "id": member.pk,
        "username": "alice",
        "email": "alice@example.com",
        "discord": None,
    }
    assert body["balance"] == 0
    assert body["rank"] is None


def test_api_me_with_discord_linked(member, token_key):
    account = SocialAccount.objects.create(
        user=member,
        provider="discord",
        uid="80351110224678912",
        extra_data={"id": "80351110224678912", "username": "nelly", "global_name": None, "avatar": None},
    )
    _, key = create_api_token(user=member)
    body = APIClient().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {key}").json()
    assert body["discord"] == {
        "id": "80351110224678912",
        "username": "nelly",
        "global_name": None,
        "avatar_url": f"https://cdn.discordapp.com/embed/avatars/{(80351110224678912 >> 22) % 6}.png",
        "linked_at": account.date_joined.isoformat().replace("+00:00", "Z"),
    }


def test_api_me_needs_a_token():
    assert APIClient().get("/api/me").status_code == 401


def test_api_me_and_the_profile_show_the_all_time_rank(member, client, monkeypatch):
    entry = SimpleNamespace(rank=3, previous_rank=5, score=1200, period="all")
    asked = []

    def entry_for(user, *, period):
        asked.append((user, period))
        return entry

    monkeypatch.setattr("portal.api.entry_for", entry_for)
    monkeypatch.setattr("portal.views.entry_for", entry_for)
    _, key = create_api_token(user=member)

    body = APIClient().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {key}").json()
    client.force_login(member)
    page = client.get("/profile/").content.decode()

    assert body["rank"] == {"rank": 3, "previous_rank": 5, "score": 1200}
    assert "#3" in page and "up from #5" in page and "1,200 points" in page
    assert asked == [(member, "all"), (member, "all")]

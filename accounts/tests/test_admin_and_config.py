import pytest
from allauth.socialaccount.models import SocialAccount, SocialApp

from accounts.models import DiscordToken
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_token_admin_shows_the_link_state_but_never_a_token(admin_client, token_key):
    account = SocialAccount.objects.create(user=UserFactory(), provider="discord", uid="77")
    token = DiscordToken.objects.create(
        social_account=account, access_token_encrypted="clear-access-1", refresh_token_encrypted="clear-refresh-1",
        needs_relink=True,
    )
    listing = admin_client.get("/admin/accounts/discordtoken/").content.decode()
    detail = admin_client.get(f"/admin/accounts/discordtoken/{token.pk}/change/").content.decode()
    for page in (listing, detail):
        assert "clear-access-1" not in page and "clear-refresh-1" not in page
        assert "gAAAAA" not in page
    assert str(account) in listing and "icon-yes" in listing


def test_the_oauth_app_comes_from_the_environment_and_a_database_app_is_ignored(flow, settings):
    SocialApp.objects.create(provider="discord", name="stray", client_id="999", secret="nope")
    authorize = flow.start()
    assert f"client_id={settings.DISCORD_CLIENT_ID}" in authorize

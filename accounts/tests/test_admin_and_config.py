import pytest
from allauth.socialaccount.models import SocialAccount, SocialApp
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from accounts.models import AuditEvent, DiscordToken
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_token_admin_shows_the_link_state_but_never_a_token(admin_client, token_key):
    account = SocialAccount.objects.create(user=UserFactory(), provider="discord", uid="77")
    token = DiscordToken.objects.create(
        social_account=account,
        access_token_encrypted="clear-access-1",
        refresh_token_encrypted="clear-refresh-1",
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


def change_user(admin_client, user, **fields):
    """Submit the admin's user change form with `user`'s current values overridden by `fields`."""
    data = {
        "username": user.username,
        "email": user.email,
        "display_name": user.display_name,
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "is_active": "on",
        **fields,
    }
    data = {name: value for name, value in data.items() if value is not False}
    return admin_client.post(reverse("admin:accounts_user_change", args=[user.pk]), data)


def test_granting_staff_and_groups_in_the_user_admin_is_audited_with_before_and_after(admin_client):
    user = UserFactory()
    moderators = Group.objects.create(name="Moderators")

    response = change_user(admin_client, user, is_staff="on", groups=[moderators.pk])

    assert response.status_code == 302
    event = AuditEvent.objects.get(action="user.privileges_changed")
    assert (event.actor, event.source, event.target_id) == (response.wsgi_request.user, "admin", str(user.pk))
    assert event.data == {
        "is_staff": {"before": False, "after": True},
        "groups": {"before": [], "after": ["Moderators"]},
    }


def test_deactivating_and_revoking_permissions_in_the_user_admin_is_audited(admin_client):
    user = UserFactory(is_superuser=True)
    user.user_permissions.add(Permission.objects.get(codename="view_auditevent"))

    change_user(admin_client, user, is_active=False)

    event = AuditEvent.objects.get(action="user.privileges_changed")
    assert event.data == {
        "is_superuser": {"before": True, "after": False},
        "is_active": {"before": True, "after": False},
        "user_permissions": {"before": ["accounts.view_auditevent"], "after": []},
    }


def test_editing_only_a_users_profile_in_the_admin_records_no_privilege_event(admin_client):
    user = UserFactory()

    response = change_user(admin_client, user, display_name="New name")

    assert response.status_code == 302
    assert not AuditEvent.objects.filter(action="user.privileges_changed").exists()

"""Unlinking Discord: revoke at Discord, delete the link and tokens, audit, signal."""

import pytest
from allauth.socialaccount.models import SocialAccount

from accounts.errors import NotLinked, UnlinkWouldLockOut
from accounts.models import AuditEvent, DiscordToken
from accounts.services import unlink_discord
from accounts.signals import discord_unlinked

pytestmark = pytest.mark.django_db


@pytest.fixture
def linked_member(flow, client, member, discord_user):
    client.force_login(member)
    flow.run(process="connect")
    token = DiscordToken.objects.get(social_account__user=member)
    return member, token.access_token_encrypted, token.refresh_token_encrypted


def test_the_profile_unlink_button_revokes_at_discord_and_deletes_the_link(
    linked_member, client, flow, discord_user, django_capture_on_commit_callbacks
):
    member, access, refresh = linked_member
    unlinked = []

    def on_unlinked(sender, user, discord_id, **kwargs):
        unlinked.append((user, discord_id))

    discord_unlinked.connect(on_unlinked)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/profile/discord/unlink/")
    finally:
        discord_unlinked.disconnect(on_unlinked)

    assert response.status_code == 302 and response["Location"] == "/profile/"
    revoke = flow.fake.requests_to("POST", "/oauth2/token/revoke")
    assert len(revoke) == 1 and revoke[0].form["token"] == refresh
    assert flow.fake.is_revoked(access) and flow.fake.is_revoked(refresh)
    assert not SocialAccount.objects.filter(user=member).exists()
    assert not DiscordToken.objects.exists()
    event = AuditEvent.objects.get(action="discord.unlinked")
    assert event.data == {"discord_id": discord_user["id"], "token_revoked": True}
    assert unlinked == [(member, discord_user["id"])]
    assert "Discord is unlinked" in client.get("/profile/").content.decode()


def test_an_unlink_goes_through_when_discord_fails_to_revoke(linked_member, client, flow):
    member, access, _ = linked_member
    flow.fake.fail_next("POST", "/oauth2/token/revoke", status=503, times=10)

    response = client.post("/profile/discord/unlink/")

    assert response.status_code == 302
    assert not SocialAccount.objects.filter(user=member).exists()
    assert not DiscordToken.objects.exists()
    assert AuditEvent.objects.get(action="discord.unlinked").data["token_revoked"] is False
    # Discord still holds the grant; the link and our copy of the tokens are gone anyway.
    assert not flow.fake.is_revoked(access)


def test_an_unlink_goes_through_when_discord_answers_500(linked_member, flow):
    member, _, _ = linked_member
    flow.fake.fail_next("POST", "/oauth2/token/revoke", status=500, times=10)
    assert unlink_discord(user=member, actor=member, source="web")
    assert not SocialAccount.objects.filter(user=member).exists()


def test_the_connections_page_unlinks_discord_through_the_same_service(linked_member, client, flow):
    member, _, refresh = linked_member
    account = SocialAccount.objects.get(user=member)

    response = client.post("/accounts/3rdparty/", {"account": account.pk})

    assert response.status_code == 302
    assert not SocialAccount.objects.filter(user=member).exists()
    assert flow.fake.is_revoked(refresh)
    assert AuditEvent.objects.filter(action="discord.unlinked").count() == 1


def test_a_member_without_a_password_cannot_unlink_their_only_way_to_sign_in(flow, client, discord_user):
    flow.run()  # signs up with Discord: no usable password
    member = SocialAccount.objects.get(uid=discord_user["id"]).user

    with pytest.raises(UnlinkWouldLockOut):
        unlink_discord(user=member, actor=member, source="web")
    response = client.post("/profile/discord/unlink/", follow=True)

    assert "Set a password first" in response.content.decode()
    assert SocialAccount.objects.filter(user=member).exists()
    assert not flow.fake.requests_to("POST", "/oauth2/token/revoke")


def test_unlinking_when_nothing_is_linked_is_a_clear_error(member):
    with pytest.raises(NotLinked):
        unlink_discord(user=member, actor=member, source="web")


def test_a_lost_encryption_key_blocks_neither_the_profile_nor_the_unlink(linked_member, client, settings):
    from cryptography.fernet import Fernet

    member, _, _ = linked_member
    settings.DISCORD_TOKEN_ENCRYPTION_KEY = [Fernet.generate_key().decode()]

    assert client.get("/profile/").status_code == 200
    client.post("/profile/discord/unlink/")

    assert not SocialAccount.objects.filter(user=member).exists()
    assert AuditEvent.objects.get(action="discord.unlinked").data["token_revoked"] is False

"""discord_linked / discord_unlinked: sent once, after the commit of the link change, never on rollback."""

from unittest import mock

import pytest
from allauth.socialaccount.models import SocialAccount
from django.db import transaction

from accounts.models import AuditEvent
from accounts.services import record_discord_link, unlink_discord
from accounts.signals import discord_linked, discord_unlinked
from accounts.tests.factories import DiscordAccountFactory

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


@pytest.fixture
def announced():
    events = []

    def on_linked(sender, user, discord_id, **kwargs):
        events.append(("linked", user.pk, discord_id))

    def on_unlinked(sender, user, discord_id, **kwargs):
        events.append(("unlinked", user.pk, discord_id))

    discord_linked.connect(on_linked)
    discord_unlinked.connect(on_unlinked)
    yield events
    discord_linked.disconnect(on_linked)
    discord_unlinked.disconnect(on_unlinked)


def test_a_link_is_announced_once_after_its_commit_and_never_on_rollback(
    announced, django_capture_on_commit_callbacks
):
    account = DiscordAccountFactory()
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(Boom), transaction.atomic():
            record_discord_link(user=account.user, social_account=account, source=AuditEvent.Source.WEB)
            raise Boom
    assert announced == []

    with django_capture_on_commit_callbacks(execute=True):
        record_discord_link(user=account.user, social_account=account, source=AuditEvent.Source.WEB)
        assert announced == []
    assert announced == [("linked", account.user.pk, account.uid)]


def test_an_unlink_is_announced_once_after_its_commit_and_never_when_it_fails(
    announced, django_capture_on_commit_callbacks
):
    account = DiscordAccountFactory()
    user = account.user
    with (
        django_capture_on_commit_callbacks(execute=True),
        mock.patch("accounts.services.record_audit_event", side_effect=Boom),
        pytest.raises(Boom),
    ):
        unlink_discord(user=user, actor=user, source=AuditEvent.Source.WEB)
    assert announced == []
    assert SocialAccount.objects.filter(pk=account.pk).exists()

    with django_capture_on_commit_callbacks(execute=True):
        unlink_discord(user=user, actor=user, source=AuditEvent.Source.WEB)
        assert announced == []
    assert announced == [("unlinked", user.pk, account.uid)]

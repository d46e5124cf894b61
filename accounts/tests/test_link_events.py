"""discord_linked / discord_unlinked: sent once, inside the transaction of the link change, so what their
listeners write (a role sync in the outbox) commits or rolls back with it."""

from unittest import mock

import pytest
from allauth.socialaccount.models import SocialAccount
from django.db import transaction

from accounts.models import AuditEvent
from accounts.services import record_discord_link, unlink_discord
from accounts.signals import discord_linked, discord_unlinked
from accounts.tests.factories import DiscordAccountFactory
from dealscale.models import OutboxEntry

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


def test_a_link_is_announced_once_inside_its_transaction_and_what_listeners_wrote_rolls_back_with_it(
    announced, django_capture_on_commit_callbacks
):
    account = DiscordAccountFactory()
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(Boom), transaction.atomic():
            record_discord_link(user=account.user, social_account=account, source=AuditEvent.Source.WEB)
            raise Boom
    # The listeners ran, but the role sync they asked for went with the rolled-back link.
    assert not OutboxEntry.objects.exists()
    assert not AuditEvent.objects.filter(action="discord.linked").exists()
    announced.clear()

    record_discord_link(user=account.user, social_account=account, source=AuditEvent.Source.WEB)
    assert announced == [("linked", account.user.pk, account.uid)]
    assert OutboxEntry.objects.count() == 1


def test_an_unlink_is_announced_once_inside_its_transaction_and_never_when_it_fails(announced):
    account = DiscordAccountFactory()
    user = account.user
    with mock.patch("accounts.services.record_audit_event", side_effect=Boom), pytest.raises(Boom):
        unlink_discord(user=user, actor=user, source=AuditEvent.Source.WEB)
    assert announced == []
    assert SocialAccount.objects.filter(pk=account.pk).exists()
    assert not OutboxEntry.objects.exists()

    unlink_discord(user=user, actor=user, source=AuditEvent.Source.WEB)
    assert announced == [("unlinked", user.pk, account.uid)]
    assert OutboxEntry.objects.count() == 1

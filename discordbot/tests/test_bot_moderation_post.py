"""New credit requests reach the moderators' channel with Approve / Deny buttons, once, from the outbox."""

import pytest

from credits.services import approve_request, request_credits
from credits.tests.factories import CreditRequestFactory, ModeratorFactory, UserFactory
from dealscale import outbox
from dealscale.models import OutboxEntry
from discord_sandbox import DEFAULT_CHANNEL_ID
from discord_sandbox.state import NONCE_WINDOW
from discordbot import deliveries
from discordbot.models import ModerationMessage
from discordbot.tasks import post_credit_request_to_moderators

pytestmark = pytest.mark.django_db

MESSAGES = "/channels/{channel_id}/messages"
EDIT = "/channels/{channel_id}/messages/{message_id}"
# The client retries a few times itself; more failures than that reach the outbox's own retry.
BEYOND_CLIENT_RETRIES = 5


@pytest.fixture
def mod_channel(settings):
    settings.DISCORD_MOD_CHANNEL_ID = DEFAULT_CHANNEL_ID
    return DEFAULT_CHANNEL_ID


def file_request():
    return request_credits(
        user=UserFactory(), amount=10, reason="Helped new members all week", origin="discord"
    )


def posted(credit_request_id: int) -> OutboxEntry:
    return OutboxEntry.objects.get(key=deliveries.moderation_post_key(credit_request_id))


def test_a_new_request_writes_its_moderators_post_to_the_outbox(outbox_worker):
    credit_request = file_request()

    assert outbox_worker.payloads(deliveries.MODERATION_POST) == [{"credit_request_id": credit_request.pk}]
    assert outbox_worker.entries(deliveries.MODERATION_EDIT) == []


def test_a_pending_request_saved_again_writes_nothing_again(outbox_worker):
    credit_request = file_request()
    credit_request.save()

    assert len(outbox_worker.entries()) == 1


def test_a_decision_made_elsewhere_is_shown_on_the_moderators_message(
    fake_discord, mod_channel, outbox_worker
):
    credit_request = file_request()
    outbox_worker.run()
    moderator = ModeratorFactory(display_name="Mia")

    approve_request(credit_request.pk, actor=moderator, source="web")
    assert outbox_worker.payloads(deliveries.MODERATION_EDIT) == [{"credit_request_id": credit_request.pk}]
    outbox_worker.run()

    [message] = fake_discord.sent_messages(DEFAULT_CHANNEL_ID)
    assert message["components"] == []
    status = {field["name"]: field["value"] for field in message["embeds"][0]["fields"]}["Status"]
    assert status == "✅ Approved by Mia"


def test_the_post_carries_the_request_and_buttons_naming_it(fake_discord, mod_channel, outbox_worker):
    credit_request = CreditRequestFactory(amount=1200, reason="Ran the spring tournament")

    # Twice, as a message queued before the outbox and its redelivery would: one entry, one post.
    post_credit_request_to_moderators(credit_request.pk)
    post_credit_request_to_moderators(credit_request.pk)
    outbox_worker.run()

    [message] = fake_discord.sent_messages(DEFAULT_CHANNEL_ID)
    embed = message["embeds"][0]
    assert embed["title"] == f"Credit request #{credit_request.pk}"
    assert {field["name"]: field["value"] for field in embed["fields"]}["Amount"] == "1,200 credits"
    buttons = message["components"][0]["components"]
    assert [button["custom_id"] for button in buttons] == [
        f"credits:approve:{credit_request.pk}",
        f"credits:deny:{credit_request.pk}",
    ]
    stored = ModerationMessage.objects.get(credit_request_id=credit_request.pk)
    assert (stored.channel_id, stored.message_id) == (DEFAULT_CHANNEL_ID, message["id"])
    assert posted(credit_request.pk).result == {"channel_id": DEFAULT_CHANNEL_ID, "message_id": message["id"]}


def test_nothing_is_posted_without_a_moderators_channel(fake_discord, settings, outbox_worker):
    settings.DISCORD_MOD_CHANNEL_ID = ""
    credit_request = file_request()

    outbox_worker.run()

    assert fake_discord.sent_messages() == []
    assert posted(credit_request.pk).result == {"skipped": "DISCORD_MOD_CHANNEL_ID is not set"}


def test_a_rate_limited_post_is_retried_by_the_outbox_and_posted_once(
    fake_discord, mod_channel, outbox_worker
):
    credit_request = file_request()
    fake_discord.fail_next("POST", MESSAGES, status=429, retry_after=0.02, times=BEYOND_CLIENT_RETRIES)

    outbox_worker.drain()

    assert len(fake_discord.sent_messages(DEFAULT_CHANNEL_ID)) == 1
    assert ModerationMessage.objects.filter(credit_request_id=credit_request.pk).count() == 1
    assert posted(credit_request.pk).attempts == 2


def test_a_post_whose_response_is_lost_is_posted_once(fake_discord, mod_channel, outbox_worker):
    credit_request = file_request()
    fake_discord.fail_next("POST", MESSAGES, disconnect=True, after_work=True)

    outbox_worker.drain()

    [message] = fake_discord.sent_messages(DEFAULT_CHANNEL_ID)
    assert ModerationMessage.objects.get(credit_request_id=credit_request.pk).message_id == message["id"]


def test_a_post_repeated_after_the_nonce_window_is_not_posted_again(fake_discord, mod_channel, outbox_worker):
    credit_request = file_request()
    outbox_worker.run()
    fake_discord.advance_clock(NONCE_WINDOW + 1)
    OutboxEntry.objects.filter(pk=posted(credit_request.pk).pk).update(status="pending")

    outbox_worker.run()

    assert len(fake_discord.sent_messages(DEFAULT_CHANNEL_ID)) == 1


def test_a_discord_outage_while_showing_a_decision_is_retried_by_the_outbox(
    fake_discord, mod_channel, outbox_worker
):
    credit_request = file_request()
    outbox_worker.run()
    approve_request(credit_request.pk, actor=ModeratorFactory(display_name="Mia"), source="web")
    fake_discord.fail_next("PATCH", EDIT, status=503, times=BEYOND_CLIENT_RETRIES)

    outbox_worker.drain()

    assert [r.status for r in fake_discord.requests_to("PATCH", EDIT)] == [503] * BEYOND_CLIENT_RETRIES + [
        200
    ]
    [message] = fake_discord.sent_messages(DEFAULT_CHANNEL_ID)
    assert message["components"] == []


def test_a_decision_made_before_its_post_went_out_waits_for_the_post(
    fake_discord, mod_channel, outbox_worker
):
    credit_request = file_request()
    approve_request(credit_request.pk, actor=ModeratorFactory(), source="web")
    edit = OutboxEntry.objects.get(key=deliveries.moderation_edit_key(credit_request.pk))

    # The edit comes first (the post is still pending): it waits instead of finding nothing to edit.
    assert outbox.deliver(edit.pk) == "pending"
    outbox_worker.drain()

    # Decided before it was posted: nothing needs the buttons, so nothing is posted.
    assert fake_discord.sent_messages(DEFAULT_CHANNEL_ID) == []
    assert posted(credit_request.pk).result == {"skipped": "the request is no longer pending"}


def test_a_moderators_message_deleted_since_is_given_up(fake_discord, mod_channel, outbox_worker):
    credit_request = file_request()
    outbox_worker.run()
    approve_request(credit_request.pk, actor=ModeratorFactory(), source="web")
    fake_discord.messages[DEFAULT_CHANNEL_ID].clear()

    outbox_worker.run()

    assert [r.status for r in fake_discord.requests_to("PATCH", EDIT)] == [404]
    edit = OutboxEntry.objects.get(key=deliveries.moderation_edit_key(credit_request.pk))
    assert edit.status == "delivered" and "deleted" in edit.result["skipped"]

"""New credit requests reach the moderators' channel with Approve / Deny buttons, once."""

from unittest.mock import patch

import pytest

from credits.services import approve_request, request_credits
from credits.tests.factories import CreditRequestFactory, ModeratorFactory, UserFactory
from discord_sandbox import DEFAULT_CHANNEL_ID
from discordbot.models import ModerationMessage
from discordbot.tasks import post_credit_request_to_moderators, update_moderation_message

pytestmark = pytest.mark.django_db

MESSAGES = "/channels/{channel_id}/messages"
EDIT = "/channels/{channel_id}/messages/{message_id}"
# The client retries a few times itself; more failures than that reach the task's own retry.
BEYOND_CLIENT_RETRIES = 5


def test_a_new_request_is_queued_for_the_moderators_channel_after_commit(django_capture_on_commit_callbacks):
    with patch("discordbot.tasks.post_credit_request_to_moderators.delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            credit_request = request_credits(
                user=UserFactory(), amount=10, reason="Helped new members all week", origin="discord"
            )

    delay.assert_called_once_with(credit_request.pk)


def test_a_pending_request_saved_again_is_not_queued_again(django_capture_on_commit_callbacks):
    credit_request = CreditRequestFactory()
    with (
        patch("discordbot.tasks.post_credit_request_to_moderators.delay") as post,
        patch("discordbot.tasks.update_moderation_message.delay") as update,
    ):
        with django_capture_on_commit_callbacks(execute=True):
            credit_request.save()

    post.assert_not_called()
    update.assert_not_called()


def test_a_decision_made_elsewhere_is_shown_on_the_moderators_message(
    fake_discord, settings, django_capture_on_commit_callbacks
):
    settings.DISCORD_MOD_CHANNEL_ID = DEFAULT_CHANNEL_ID
    credit_request = CreditRequestFactory(amount=50)
    post_credit_request_to_moderators(credit_request.pk)
    moderator = ModeratorFactory(display_name="Mia")

    with patch("discordbot.tasks.update_moderation_message.delay") as update:
        with django_capture_on_commit_callbacks(execute=True):
            approve_request(credit_request.pk, actor=moderator, source="web")
    update.assert_called_once_with(credit_request.pk)
    update_moderation_message(credit_request.pk)

    [message] = fake_discord.sent_messages(DEFAULT_CHANNEL_ID)
    assert message["components"] == []
    status = {field["name"]: field["value"] for field in message["embeds"][0]["fields"]}["Status"]
    assert status == "✅ Approved by Mia"


def test_the_post_carries_the_request_and_buttons_naming_it(fake_discord, settings):
    settings.DISCORD_MOD_CHANNEL_ID = DEFAULT_CHANNEL_ID
    credit_request = CreditRequestFactory(amount=1200, reason="Ran the spring tournament")

    post_credit_request_to_moderators(credit_request.pk)
    post_credit_request_to_moderators(credit_request.pk)

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


def test_nothing_is_posted_without_a_moderators_channel(fake_discord, settings):
    settings.DISCORD_MOD_CHANNEL_ID = ""

    post_credit_request_to_moderators(CreditRequestFactory().pk)

    assert fake_discord.sent_messages() == []


@pytest.fixture
def retries_run_inline():
    # An eager retry is re-applied inline only when errors are not propagated; a worker never propagates.
    conf = post_credit_request_to_moderators.app.conf
    previous, conf.task_eager_propagates = conf.task_eager_propagates, False
    yield
    conf.task_eager_propagates = previous


def test_a_rate_limited_post_is_retried_by_the_task_and_posted_once(
    fake_discord, settings, retries_run_inline
):
    settings.DISCORD_MOD_CHANNEL_ID = DEFAULT_CHANNEL_ID
    credit_request = CreditRequestFactory()
    fake_discord.fail_next("POST", MESSAGES, status=429, retry_after=0.02, times=BEYOND_CLIENT_RETRIES)

    assert post_credit_request_to_moderators.apply(args=[credit_request.pk]).successful()

    assert len(fake_discord.sent_messages(DEFAULT_CHANNEL_ID)) == 1
    assert ModerationMessage.objects.filter(credit_request_id=credit_request.pk).count() == 1


def test_a_discord_outage_while_showing_a_decision_is_retried_by_the_task(
    fake_discord, settings, retries_run_inline
):
    settings.DISCORD_MOD_CHANNEL_ID = DEFAULT_CHANNEL_ID
    credit_request = CreditRequestFactory()
    post_credit_request_to_moderators(credit_request.pk)
    approve_request(credit_request.pk, actor=ModeratorFactory(display_name="Mia"), source="web")
    fake_discord.fail_next("PATCH", EDIT, status=503, times=BEYOND_CLIENT_RETRIES)

    assert update_moderation_message.apply(args=[credit_request.pk]).successful()

    assert [r.status for r in fake_discord.requests_to("PATCH", EDIT)] == [503] * BEYOND_CLIENT_RETRIES + [
        200
    ]
    [message] = fake_discord.sent_messages(DEFAULT_CHANNEL_ID)
    assert message["components"] == []


def test_a_moderators_message_deleted_since_is_given_up(fake_discord, settings):
    settings.DISCORD_MOD_CHANNEL_ID = DEFAULT_CHANNEL_ID
    credit_request = CreditRequestFactory()
    post_credit_request_to_moderators(credit_request.pk)
    approve_request(credit_request.pk, actor=ModeratorFactory(), source="web")
    fake_discord.messages[DEFAULT_CHANNEL_ID].clear()

    assert update_moderation_message.apply(args=[credit_request.pk]).successful()

    assert [r.status for r in fake_discord.requests_to("PATCH", EDIT)] == [404]

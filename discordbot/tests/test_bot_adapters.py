"""The command adapters one by one: what each answers, to whom, and how refusals and bugs are mapped."""

import asyncio
from unittest.mock import AsyncMock, MagicMock, patch

import pytest
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth.models import Permission
from waffle.models import Flag

from credits.errors import AlreadyDecided, CreditsValidationError, LimitExceeded, RequestNotFound
from credits.models import CreditRequest
from credits.tests.factories import CreditRequestFactory, ModeratorFactory, UserFactory
from discordbot import components
from discordbot.cogs.account import AccountCog
from discordbot.cogs.base import (
    BotCog,
    InteractionRun,
    NotLinked,
    OnCooldown,
    Refusal,
    current_run,
    interaction_gate,
)
from discordbot.cogs.credits import CreditsCog, file_request
from discordbot.cogs.moderation import ModerationCog, decide, moderator_for
from discordbot.services import claim_cooldown

# The adapters run the ORM in a worker thread (database_sync_to_async): rows must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def integration_on():
    Flag.objects.update_or_create(name="discord_integration", defaults={"everyone": True})


@pytest.fixture
def bot():
    bot = MagicMock()
    bot.register_component_handler = MagicMock()
    return bot


def link(user, discord_id: str):
    SocialAccount.objects.create(user=user, provider="discord", uid=discord_id)
    return user


def fake_interaction(
    *, user_id: int, interaction_id: int = 9001, name: str = "credits", data: dict | None = None
):
    interaction = MagicMock()
    interaction.id = interaction_id
    interaction.user.id = user_id
    interaction.user.display_name = "Alice"
    interaction.data = data or {"name": name}
    interaction.response.is_done = MagicMock(return_value=False)
    interaction.response.send_message = AsyncMock()
    interaction.response.edit_message = AsyncMock()
    interaction.response.send_modal = AsyncMock()
    interaction.followup.send = AsyncMock()
    return interaction


def sent_embed(interaction):
    return interaction.response.send_message.await_args.kwargs["embed"]


def test_credits_shows_the_balance_and_pending_requests_ephemerally(bot):
    member = link(UserFactory(), "111")
    pending = CreditRequestFactory(user=member, amount=2500)
    interaction = fake_interaction(user_id=111)

    asyncio.run(CreditsCog.credits.callback(CreditsCog(bot), interaction))

    assert interaction.response.send_message.await_args.kwargs["ephemeral"] is True
    fields = {field.name: field.value for field in sent_embed(interaction).fields}
    assert fields["Balance"] == "**0** credits"
    assert f"`#{pending.pk}` · 2,500 credits" in fields["Pending requests (1)"]


def test_an_unlinked_member_is_refused_with_the_link_url(bot, settings):
    settings.SITE_URL = "https://dealscale.example"
    cog = CreditsCog(bot)
    interaction = fake_interaction(user_id=222)

    with pytest.raises(NotLinked) as refused:
        asyncio.run(CreditsCog.credits.callback(cog, interaction))
    asyncio.run(cog.cog_application_command_error(interaction, refused.value))

    assert interaction.response.send_message.await_args.kwargs["ephemeral"] is True
    assert "https://dealscale.example/profile/" in sent_embed(interaction).description


def test_a_member_outside_the_rollout_is_told_it_is_not_available(bot):
    Flag.objects.filter(name="discord_integration").update(everyone=False)
    link(UserFactory(), "333")

    with pytest.raises(Refusal, match="not enabled for your account"):
        asyncio.run(CreditsCog.credits.callback(CreditsCog(bot), fake_interaction(user_id=333)))


def test_request_credits_files_through_the_service_with_source_discord_once_per_interaction():
    member = link(UserFactory(), "444")

    first = file_request(discord_id=444, amount=100, reason="Organised the meetup", interaction_id=77)
    again = file_request(discord_id=444, amount=100, reason="Organised the meetup", interaction_id=77)

    assert again.pk == first.pk
    assert CreditRequest.objects.filter(user=member).count() == 1
    assert (first.source, first.status) == ("discord", "pending")


@pytest.mark.parametrize(
    ("amount", "reason", "message"),
    [
        (0, "A perfectly fine reason", "whole number from 1"),
        (50, "short", "10 to 500 characters"),
    ],
)
def test_request_credits_answers_validation_errors_with_an_ephemeral_refusal(bot, amount, reason, message):
    link(UserFactory(), "555")
    interaction = fake_interaction(user_id=555, name="request-credits")

    with pytest.raises(CreditsValidationError, match=message) as refused:
        file_request(discord_id=555, amount=amount, reason=reason, interaction_id=1)
    asyncio.run(CreditsCog(bot).cog_application_command_error(interaction, refused.value))

    assert interaction.response.send_message.await_args.kwargs["ephemeral"] is True
    assert sent_embed(interaction).title == "⚠️ Check your request"
    assert message in sent_embed(interaction).description


def test_request_credits_answers_limits_with_an_ephemeral_refusal(bot, settings):
    settings.CREDITS_MAX_PENDING = 1
    link(UserFactory(), "556")
    file_request(discord_id=556, amount=10, reason="The first request", interaction_id=1)
    interaction = fake_interaction(user_id=556, name="request-credits")

    with pytest.raises(LimitExceeded, match="CREDITS_MAX_PENDING") as refused:
        file_request(discord_id=556, amount=10, reason="The second request", interaction_id=2)
    assert refused.value.title == "Limit reached"
    asyncio.run(CreditsCog(bot).cog_application_command_error(interaction, refused.value))

    assert interaction.response.send_message.await_args.kwargs["ephemeral"] is True
    assert sent_embed(interaction).title == "⚠️ Limit reached"
    assert "CREDITS_MAX_PENDING" in sent_embed(interaction).description


def test_link_shows_the_linked_account_or_how_to_link(bot):
    link(UserFactory(username="alice"), "666")
    linked = fake_interaction(user_id=666, name="link")
    unlinked = fake_interaction(user_id=667, name="link")

    asyncio.run(AccountCog.link.callback(AccountCog(bot), linked))
    asyncio.run(AccountCog.link.callback(AccountCog(bot), unlinked))

    assert "**alice**" in sent_embed(linked).description
    assert sent_embed(unlinked).title == "🔗 Link your account"
    assert unlinked.response.send_message.await_args.kwargs["ephemeral"] is True


def test_only_a_linked_staff_moderator_may_decide():
    link(UserFactory(), "700")
    link(UserFactory(is_staff=True), "701")
    moderator = link(ModeratorFactory(), "702")
    not_staff = link(UserFactory(), "703")
    not_staff.user_permissions.add(Permission.objects.get(codename="moderate_creditrequest"))

    for discord_id in (700, 701, 703, 704):
        with pytest.raises(Refusal, match="Only moderators"):
            moderator_for(discord_id)
    assert moderator_for(702) == moderator


def test_a_decision_goes_through_the_service_once_and_is_audit_logged():
    from accounts.models import AuditEvent

    moderator = link(ModeratorFactory(), "800")
    credit_request = CreditRequestFactory(amount=40)

    embed = decide(discord_id=800, request_id=credit_request.pk, approve=True)
    with pytest.raises(AlreadyDecided, match="already approved"):
        decide(discord_id=800, request_id=credit_request.pk, approve=True)

    credit_request.refresh_from_db()
    assert (credit_request.status, credit_request.decided_by) == ("approved", moderator)
    assert "Approved by" in embed.fields[-1].value
    assert AuditEvent.objects.filter(action="credit_request.approved", source="discord").count() == 1


def test_denying_needs_a_note_and_an_existing_request():
    link(ModeratorFactory(), "801")
    credit_request = CreditRequestFactory()

    with pytest.raises(CreditsValidationError, match="reason is required"):
        decide(discord_id=801, request_id=credit_request.pk, approve=False, note="  ")
    with pytest.raises(RequestNotFound, match="No credit request"):
        decide(discord_id=801, request_id=999999, approve=False, note="nope")


def test_the_deny_button_opens_a_modal_for_moderators_only(bot, settings):
    # Checks that outlast the budget would open the modal anyway (test_acknowledgement.py).
    settings.BOT_MODAL_CHECK_BUDGET_SECONDS = 30
    link(ModeratorFactory(), "900")
    credit_request = CreditRequestFactory()
    cog = ModerationCog(bot)
    moderator_click = fake_interaction(user_id=900)
    member_click = fake_interaction(user_id=901)

    asyncio.run(cog.handle(moderator_click, [components.DENY, str(credit_request.pk)]))
    with pytest.raises(Refusal):
        asyncio.run(cog.handle(member_click, [components.DENY, str(credit_request.pk)]))

    modal = moderator_click.response.send_modal.await_args.args[0]
    assert modal.custom_id == f"credits:deny-note:{credit_request.pk}"
    member_click.response.send_modal.assert_not_awaited()


def test_a_malformed_button_id_is_refused(bot):
    with pytest.raises(Refusal, match="not recognised"):
        asyncio.run(ModerationCog(bot).handle(fake_interaction(user_id=1), ["approve", "abc"]))


def test_the_modal_note_is_read_from_action_rows_and_labels():
    rows = [{"type": 1, "components": [{"type": 4, "custom_id": "note", "value": "In a row"}]}]
    labels = [{"type": 18, "component": {"type": 4, "custom_id": "note", "value": "In a label"}}]

    assert components.submitted_value(rows, "note") == "In a row"
    assert components.submitted_value(labels, "note") == "In a label"
    assert components.submitted_value([], "note") is None


async def test_the_gate_refuses_a_second_command_within_the_cooldown(settings):
    settings.BOT_COOLDOWN_SECONDS = 30
    interaction = fake_interaction(user_id=1234, name="link")

    assert await interaction_gate(interaction) is True
    with pytest.raises(OnCooldown) as cooling:
        await interaction_gate(interaction)
    assert 29 < cooling.value.retry_after <= 30
    assert await interaction_gate(fake_interaction(user_id=1235, name="link")) is True


async def test_request_credits_has_its_own_longer_cooldown(settings):
    settings.BOT_COOLDOWN_SECONDS = 3
    settings.BOT_REQUEST_CREDITS_COOLDOWN_SECONDS = 120
    await interaction_gate(fake_interaction(user_id=42, name="request-credits"))

    with pytest.raises(OnCooldown) as cooling:
        await interaction_gate(fake_interaction(user_id=42, name="request-credits"))
    assert cooling.value.retry_after > 100


async def test_a_refused_command_gives_the_cooldown_back(settings):
    settings.BOT_COOLDOWN_SECONDS = 30
    interaction = fake_interaction(user_id=77, name="credits")
    cog = BotCog(MagicMock())
    token = current_run.set(InteractionRun(command="credits", discord_user_id=77))
    try:
        await interaction_gate(interaction)
        await cog.cog_application_command_error(interaction, Refusal("Bad argument"))
    finally:
        current_run.reset(token)

    assert claim_cooldown(command="credits", discord_user_id="77", seconds=30) == 0


async def test_the_cooldown_reply_is_ephemeral_and_friendly():
    interaction = fake_interaction(user_id=5)

    await BotCog(MagicMock()).cog_application_command_error(interaction, OnCooldown(2.4))

    assert interaction.response.send_message.await_args.kwargs["ephemeral"] is True
    assert sent_embed(interaction).description == "You're going a bit fast — try again in 2 s."


async def test_a_bug_is_logged_reported_to_sentry_and_answered_politely():
    interaction = fake_interaction(user_id=6)
    run = InteractionRun(command="credits", discord_user_id=6)
    token = current_run.set(run)
    try:
        with patch("discordbot.cogs.base.sentry_sdk.capture_exception") as capture:
            await BotCog(MagicMock()).cog_application_command_error(interaction, KeyError("boom"))
    finally:
        current_run.reset(token)

    capture.assert_called_once()
    assert run.outcome == "error"
    assert sent_embed(interaction).title == "⚠️ Sorry"
    assert interaction.response.send_message.await_args.kwargs["ephemeral"] is True


async def test_an_answer_after_a_deferral_goes_out_as_a_followup():
    interaction = fake_interaction(user_id=7)
    interaction.response.is_done = MagicMock(return_value=True)

    await BotCog(MagicMock()).cog_application_command_error(interaction, Refusal("Nope"))

    interaction.response.send_message.assert_not_awaited()
    assert interaction.followup.send.await_args.kwargs["ephemeral"] is True

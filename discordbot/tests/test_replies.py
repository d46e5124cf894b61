"""The bot's one answer to a refusal: a service's DomainError or its own, ephemeral and never reported."""

from unittest.mock import AsyncMock, MagicMock, patch

from dealscale.errors import Conflict, DomainError
from discordbot.cogs.base import BotCog, InteractionRun, current_run
from discordbot.replies import NotLinked, Refusal, refusal_embed, reply_text
from discordbot.services import claim_cooldown


def test_the_reply_is_the_message_or_each_field_message_on_its_own_line():
    assert reply_text(Conflict("Credit request #4 was already approved.")) == (
        "Credit request #4 was already approved."
    )
    bad_input = DomainError(
        "amount: Too big.; reason: Too short.", fields={"amount": ["Too big."], "reason": ["Too short."]}
    )
    assert reply_text(bad_input) == "Too big.\nToo short."


def test_the_embed_carries_the_errors_title_over_its_reply():
    embed = refusal_embed(DomainError("Too big.", title="Limit reached"))
    assert (embed.title, embed.description) == ("⚠️ Limit reached", "Too big.")
    assert refusal_embed(Refusal("This button is not recognised any more.")).title == "⚠️ Can't do that"


def test_an_unlinked_member_gets_the_link_embed(settings):
    settings.SITE_URL = "https://dealscale.example"

    assert "https://dealscale.example/profile/" in refusal_embed(NotLinked()).description


async def test_a_services_refusal_is_answered_ephemerally_and_gives_the_cooldown_back(settings):
    settings.BOT_COOLDOWN_SECONDS = 30
    interaction = MagicMock()
    interaction.response.is_done = MagicMock(return_value=False)
    interaction.response.send_message = AsyncMock()
    run = InteractionRun(command="request-credits", discord_user_id=78, cooldown_claimed=True)
    claim_cooldown(command="request-credits", discord_user_id="78", seconds=30)
    token = current_run.set(run)
    try:
        with patch("discordbot.cogs.base.sentry_sdk.capture_exception") as capture:
            await BotCog(MagicMock()).cog_application_command_error(
                interaction, Conflict("Credit request #4 was already approved.", title="Already decided")
            )
    finally:
        current_run.reset(token)

    capture.assert_not_called()
    assert run.outcome == "refused"
    sent = interaction.response.send_message.await_args.kwargs
    assert sent["ephemeral"] is True
    assert (sent["embed"].title, sent["embed"].description) == (
        "⚠️ Already decided",
        "Credit request #4 was already approved.",
    )
    assert claim_cooldown(command="request-credits", discord_user_id="78", seconds=30) == 0

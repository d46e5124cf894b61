"""What every command shares: the gate (cooldowns, kill switch), member resolution, replies, error handling."""

import contextvars
import time
from dataclasses import dataclass, field

import nextcord
import sentry_sdk
import structlog
from django.conf import settings
from nextcord.errors import ApplicationCheckFailure

from accounts.discord_integration import discord_integration_switched_off
from accounts.models import User
from accounts.selectors import discord_integration_enabled_for_user, user_for_discord_id
from dealscale.errors import DomainError
from discordbot import embeds
from discordbot.asyncdb import database_sync_to_async
from discordbot.models import CommandInvocation
from discordbot.replies import IntegrationDisabled, NotLinked, Refusal, refusal_embed
from discordbot.services import claim_cooldown, release_cooldown

logger = structlog.get_logger(__name__)


@dataclass
class InteractionRun:
    """What one handled interaction did, filled in while it runs and recorded once it is answered."""

    command: str
    discord_user_id: int
    started: float = field(default_factory=time.perf_counter)
    outcome: str = CommandInvocation.Outcome.OK
    user_id: int | None = None
    cooldown_claimed: bool = False


# The run of the interaction being handled, so that checks and error handlers can annotate it.
current_run: contextvars.ContextVar[InteractionRun | None] = contextvars.ContextVar(
    "current_run", default=None
)


async def refuse_when_switched_off() -> None:
    """The bot's kill switch: raises IntegrationDisabled while `discord_integration` is off for everyone."""
    if await database_sync_to_async(discord_integration_switched_off, thread_sensitive=False)():
        raise IntegrationDisabled()


class OnCooldown(ApplicationCheckFailure):
    def __init__(self, retry_after: float):
        super().__init__(f"On cooldown for {retry_after:.1f} s")
        self.retry_after = retry_after


def cooldown_seconds(command: str) -> float:
    """Per-user cooldown of one command: filing requests is slower than reading."""
    if command == "request-credits":
        return settings.BOT_REQUEST_CREDITS_COOLDOWN_SECONDS
    return settings.BOT_COOLDOWN_SECONDS


async def interaction_gate(interaction: nextcord.Interaction) -> bool:
    """The one check every slash command passes before it runs (nextcord global application check).

    Cooldowns live in the shared cache so that every shard and process agrees on them. The command-wide
    kill switch (`discord_integration` off for everyone) is checked first; the per-member rollout of the
    flag is applied where the member is resolved (`member_for`).
    """
    await refuse_when_switched_off()
    command = interaction.data["name"]
    seconds = cooldown_seconds(command)
    if seconds > 0:
        retry_after = await database_sync_to_async(claim_cooldown, thread_sensitive=False)(
            command=command, discord_user_id=str(interaction.user.id), seconds=seconds
        )
        if retry_after:
            raise OnCooldown(retry_after)
        if (run := current_run.get()) is not None:
            run.cooldown_claimed = True
    return True


async def reply(interaction: nextcord.Interaction, embed: nextcord.Embed, *, ephemeral: bool = True) -> None:
    """Answer the interaction, or follow up when it was already answered (e.g. deferred)."""
    if interaction.response.is_done():
        await interaction.followup.send(embed=embed, ephemeral=ephemeral)
    else:
        await interaction.response.send_message(embed=embed, ephemeral=ephemeral)


async def report_unexpected_error(interaction: nextcord.Interaction, error: BaseException) -> None:
    """Log and report a bug behind an interaction, and tell the member something went wrong (ephemeral)."""
    run = current_run.get()
    if run is not None:
        run.outcome = CommandInvocation.Outcome.ERROR
    logger.error(
        "bot_interaction_failed",
        command=run.command if run else None,
        interaction_id=interaction.id,
        exc_info=error,
    )
    sentry_sdk.capture_exception(error)
    await reply(
        interaction,
        embeds.problem(
            "Something went wrong on our side. It has been reported; please try again later.", title="Sorry"
        ),
    )


async def answer_refusal(interaction: nextcord.Interaction, refusal: DomainError) -> None:
    """Answer an expected refusal (a service's or the bot's own) ephemerally; it costs no cooldown."""
    run = current_run.get()
    if run is not None:
        run.outcome = CommandInvocation.Outcome.REFUSED
        if run.cooldown_claimed:
            await database_sync_to_async(release_cooldown, thread_sensitive=False)(
                command=run.command, discord_user_id=str(run.discord_user_id)
            )
    await reply(interaction, refusal_embed(refusal))


class BotCog(nextcord.ClientCog):
    """Base of the command cogs: answers refusals, cooldowns and bugs with ephemeral replies.

    A command lets a service's DomainError propagate: it is answered here, never caught in the cog.
    """

    def __init__(self, bot: nextcord.Client):
        self.bot = bot

    async def cog_application_command_error(
        self, interaction: nextcord.Interaction, error: Exception
    ) -> None:
        if isinstance(error, DomainError):
            await answer_refusal(interaction, error)
        elif isinstance(error, OnCooldown):
            if (run := current_run.get()) is not None:
                run.outcome = CommandInvocation.Outcome.REFUSED
            await reply(
                interaction,
                embeds.problem(
                    f"You're going a bit fast — try again in {max(1, round(error.retry_after))} s.",
                    title="Slow down",
                ),
            )
        else:
            await report_unexpected_error(interaction, error)


def member_for(discord_id: int) -> User:
    """The DealScale user linked to this Discord id (sync: call through database_sync_to_async).

    Raises NotLinked, or Refusal when the `discord_integration` rollout does not include the member yet.
    """
    user = user_for_discord_id(str(discord_id))
    if user is None:
        raise NotLinked()
    if not discord_integration_enabled_for_user(user):
        raise Refusal(
            "DealScale's Discord features are not enabled for your account yet.", title="Not available yet"
        )
    return user


def note_user(user) -> None:
    """Attach the resolved member to the interaction's run (for the ops dashboard)."""
    if (run := current_run.get()) is not None:
        run.user_id = user.pk

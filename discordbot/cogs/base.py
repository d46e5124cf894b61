"""What every command shares: the acknowledgement, the gate (cooldowns, kill switch), member resolution,
replies and error handling.

Discord invalidates an interaction whose first response comes more than 3 seconds after the event
(discord-api-docs docs/interactions/receiving-and-responding.mdx, "Interaction Callback"), and every gate
and command touches the database or Redis. So the first response is sent before any of that work: a
deferral (`acknowledge`) for commands and buttons, after which every answer (`reply`, `update_message`)
goes through the interaction's webhook. docs/bot.md ("Answering within Discord's 3 seconds") explains it.
"""

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

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


class Acknowledgement(StrEnum):
    """How the first response left the answer to come (the interaction callback type sent)."""

    # 5 DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE with the EPHEMERAL flag: only the member sees the loading state.
    PRIVATE = "private"
    # 5 DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE: the channel sees the loading state, then the answer.
    PUBLIC = "public"
    # 6 DEFERRED_UPDATE_MESSAGE: a button's click, answered by editing the message it is on.
    UPDATE = "update"


@dataclass
class InteractionRun:
    """What one handled interaction did, filled in while it runs and recorded once it is answered."""

    command: str
    discord_user_id: int
    started: float = field(default_factory=time.perf_counter)
    outcome: str = CommandInvocation.Outcome.OK
    user_id: int | None = None
    cooldown_claimed: bool = False
    acknowledgement: Acknowledgement | None = None
    # Whether the member saw the answer, so that a later error does not overwrite it.
    answered: bool = False


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

    It runs after the command was acknowledged (`DealScaleBotMixin._answer_command`): the kill switch is in
    the database and the cooldown in Redis, and neither may hold up the first response. Cooldowns live in the shared cache so that every shard and process agrees on them. The command-wide
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


def private_answer[F: Callable[..., Awaitable[None]]](callback: F) -> F:
    """Mark a slash command whose answer only the caller sees: it is deferred ephemerally.

    Put it under `@nextcord.slash_command`. Unmarked commands answer in public (their refusals stay
    private all the same, see `reply`).
    """
    callback.__private_answer__ = True  # type: ignore[attr-defined]
    return callback


def answers_privately(command: nextcord.BaseApplicationCommand) -> bool:
    return getattr(command.callback, "__private_answer__", False)


async def acknowledge(interaction: nextcord.Interaction, acknowledgement: Acknowledgement) -> bool:
    """Send the interaction's first response, a deferral, before any database or Redis work.

    Returns False when Discord refused it (the interaction expired or was already answered, e.g. by
    another shard): its token is then useless, so the caller must not run the handler at all, which
    would act for a member who was told "The application did not respond".
    """
    run = current_run.get()
    try:
        if acknowledgement is Acknowledgement.UPDATE:
            await interaction.response.defer()
        else:
            await interaction.response.defer(
                ephemeral=acknowledgement is Acknowledgement.PRIVATE, with_message=True
            )
    except nextcord.HTTPException as error:
        logger.warning(
            "bot_acknowledgement_refused",
            command=run.command if run else None,
            interaction_id=interaction.id,
            status=error.status,
            code=error.code,
        )
        if run is not None:
            run.outcome = CommandInvocation.Outcome.ERROR
        return False
    if run is not None:
        run.acknowledgement = acknowledgement
    return True


async def reply(interaction: nextcord.Interaction, embed: nextcord.Embed, *, ephemeral: bool = True) -> None:
    """Answer the member: as the first response when nothing was sent yet, else through the deferral.

    After a private deferral the answer replaces the private loading message. After a public one a public
    answer replaces it, while a private answer (a refusal, an error) cannot: a message's ephemeral state
    never changes, so the public loading message is deleted and the answer follows up ephemerally. After a
    button's deferral, and once the member has an answer, anything more is an ephemeral follow-up.
    """
    run = current_run.get()
    acknowledgement = run.acknowledgement if run is not None and not run.answered else None
    if not interaction.response.is_done():
        await interaction.response.send_message(embed=embed, ephemeral=ephemeral)
    elif acknowledgement is Acknowledgement.PRIVATE or (
        acknowledgement is Acknowledgement.PUBLIC and not ephemeral
    ):
        await interaction.edit_original_message(embed=embed)
    elif acknowledgement is Acknowledgement.PUBLIC:
        await _delete_loading_message(interaction)
        await interaction.followup.send(embed=embed, ephemeral=True)
    else:
        await interaction.followup.send(embed=embed, ephemeral=ephemeral)
    if run is not None:
        run.answered = True


async def update_message(interaction: nextcord.Interaction, embed: nextcord.Embed) -> None:
    """Answer a button (or a modal opened from one) by replacing its message with `embed`, buttons removed."""
    if not interaction.response.is_done():
        await interaction.response.edit_message(embed=embed, view=None)
    else:
        # After DEFERRED_UPDATE_MESSAGE, @original is the message the component is attached to.
        await interaction.edit_original_message(embed=embed, view=None)
    if (run := current_run.get()) is not None:
        run.answered = True


async def _delete_loading_message(interaction: nextcord.Interaction) -> None:
    try:
        await interaction.delete_original_message()
    except nextcord.NotFound:
        # Already gone (deleted by a moderator, or a retried answer): the follow-up still reaches the member.
        pass


async def open_modal_in_time(
    interaction: nextcord.Interaction, modal: nextcord.ui.Modal, *, checks: Callable[[], Awaitable[object]]
) -> None:
    """Open `modal` (it must be the first response: a modal cannot follow a deferral) after `checks`,
    when they finish within BOT_MODAL_CHECK_BUDGET_SECONDS.

    A refusal raised in time is answered as usual. Checks still running at the budget's end are left to
    finish on their own and the modal opens anyway: its submit runs the same checks again (the kill switch
    for every component, the moderator check in the service), so a late check never lets anyone through.
    """
    checking = asyncio.ensure_future(checks())
    done, _ = await asyncio.wait({checking}, timeout=settings.BOT_MODAL_CHECK_BUDGET_SECONDS)
    if done:
        checking.result()
    else:
        checking.add_done_callback(_discard_outcome)
        run = current_run.get()
        logger.info(
            "bot_modal_checks_late", command=run.command if run else None, interaction_id=interaction.id
        )
    await interaction.response.send_modal(modal)


def _discard_outcome(task: asyncio.Future) -> None:
    # The modal is open and its submit checks again, so a late refusal is dropped (retrieved, so asyncio
    # does not log it); a late bug is logged here and answered on submit, where it happens again.
    if task.cancelled():
        return
    error = task.exception()
    if error is not None and not isinstance(error, DomainError):
        logger.warning("bot_modal_check_failed_late", error=repr(error))


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
    # The member's answer first: giving the cooldown back is a Redis round trip they need not wait for.
    await reply(interaction, refusal_embed(refusal))
    if run is not None and run.cooldown_claimed:
        await database_sync_to_async(release_cooldown, thread_sensitive=False)(
            command=run.command, discord_user_id=str(run.discord_user_id)
        )


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

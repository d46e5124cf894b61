"""Builds the DealScale bot: a nextcord client with the command cogs, the moderation buttons and a heartbeat.

The bot never registers application commands itself (`manage.py deploy_commands` does, once per change):
Discord caps command creates per day, and nextcord's default `on_connect` would sync on every (re)connect.
Incoming interactions are matched to the local commands by name instead of by the ids a sync would learn.
"""

import asyncio
import math
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import nextcord
import sentry_sdk
import structlog
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone
from nextcord.ext import tasks

from dealscale.errors import DomainError
from discordbot import embeds
from discordbot.asyncdb import database_sync_to_async
from discordbot.cogs.base import (
    Acknowledgement,
    InteractionRun,
    acknowledge,
    answer_refusal,
    answers_privately,
    current_run,
    interaction_gate,
    refuse_when_switched_off,
    reply,
    report_unexpected_error,
)
from discordbot.services import clear_heartbeat, record_command_invocation, record_heartbeat

logger = structlog.get_logger(__name__)

ComponentHandler = Callable[[nextcord.Interaction, list[str]], Awaitable[None]]


@dataclass(frozen=True)
class ComponentRoute:
    handler: ComponentHandler
    # Actions (the custom_id's first argument) answered with a modal, which must be the first response:
    # these are not deferred, and their handler keeps its checks within Discord's deadline itself.
    modal_actions: frozenset[str] = frozenset()


class DealScaleBotMixin:
    """Behaviour shared by the plain and the auto-sharded client (see `build_bot`)."""

    def __init__(self, *, instance: str, heartbeat_seconds: float, **options) -> None:
        super().__init__(
            intents=nextcord.Intents(guilds=True),
            # No command sync of any kind on connect, guild availability or unknown command ids.
            lazy_load_commands=False,
            rollout_associate_known=False,
            rollout_delete_unknown=False,
            rollout_register_new=False,
            rollout_update_known=False,
            **options,
        )
        self.instance = instance
        self.started_at = timezone.now()
        self.commands_served = 0
        self.component_handlers: dict[str, ComponentRoute] = {}
        self.local_commands: dict[tuple[str, int], nextcord.BaseApplicationCommand] = {}
        self._background: set[asyncio.Task] = set()
        self._shutdown: asyncio.Future | None = None
        self.heartbeat = tasks.loop(seconds=heartbeat_seconds)(self.write_heartbeat)
        self.add_application_command_check(interaction_gate)

    # --- Command registration stays out of the gateway lifecycle -------------------------------------
    async def on_connect(self) -> None:
        logger.info("bot_connected", instance=self.instance)

    async def on_guild_available(self, guild: nextcord.Guild) -> None:
        logger.debug("bot_guild_available", guild_id=guild.id)

    async def on_ready(self) -> None:
        logger.info("bot_ready", instance=self.instance, user=str(self.user), guilds=len(self.guilds))
        if not self.heartbeat.is_running():
            self.heartbeat.start()

    async def on_resumed(self) -> None:
        logger.info("bot_resumed", instance=self.instance)

    # --- Dispatch -------------------------------------------------------------------------------------
    def register_component_handler(
        self, prefix: str, handler: ComponentHandler, *, modal_actions: Iterable[str] = ()
    ) -> None:
        """Route buttons and modals whose custom_id is `<prefix>:<args…>` to `handler(interaction, args)`.

        The route lives in code rather than in per-message views, so buttons posted by the worker, or before
        a restart, keep working: this is nextcord's "persistent view" without a view per request. Every
        click is deferred (DEFERRED_UPDATE_MESSAGE) before the handler runs, except `modal_actions`.
        """
        self.component_handlers[prefix] = ComponentRoute(handler, frozenset(modal_actions))

    async def on_interaction(self, interaction: nextcord.Interaction) -> None:
        if interaction.type in (nextcord.InteractionType.component, nextcord.InteractionType.modal_submit):
            await self.process_components(interaction)
        else:
            await self.process_application_commands(interaction)

    async def process_application_commands(self, interaction: nextcord.Interaction) -> None:
        if interaction.type is not nextcord.InteractionType.application_command:
            await super().process_application_commands(interaction)
            return
        data = interaction.data
        command = self.local_commands.get((data["name"], int(data["type"])))
        if command is None:
            logger.warning("bot_unknown_command", name=data.get("name"), command_id=data.get("id"))
            # A command removed by the last deploy_commands; Discord clients catch up within minutes.
            await reply(
                interaction,
                embeds.problem(
                    "This command is not available any more. Discord will refresh your command list shortly.",
                    title="Unknown command",
                ),
            )
            return
        # Learn the id Discord gave the command (per scope), as a sync would have; no REST call involved.
        command.parse_discord_response(self._connection, data)
        await self._run_tracked(data["name"], interaction, self._answer_command(command, interaction))

    async def _answer_command(
        self, command: nextcord.BaseApplicationCommand, interaction: nextcord.Interaction
    ) -> None:
        # Deferred before the gate (kill switch in the database, cooldown in Redis) and the command run.
        private = answers_privately(command)
        if await acknowledge(interaction, Acknowledgement.PRIVATE if private else Acknowledgement.PUBLIC):
            await command.call_from_interaction(interaction)

    def remember_local_commands(self) -> None:
        """Index the bot's commands by (name, type) for dispatch.

        nextcord's own index is emptied on every READY (`ConnectionState.clear`) and refilled only by its
        on-connect sync, which this bot never runs; this one lives as long as the bot.
        """
        self.add_all_application_commands()
        self.local_commands = {
            (command.name, command.type.value): command for command in self.get_all_application_commands()
        }

    async def process_components(self, interaction: nextcord.Interaction) -> None:
        prefix, _, rest = interaction.data.get("custom_id", "").partition(":")
        route = self.component_handlers.get(prefix)
        if route is None:
            # Buttons of nextcord views (if any) are dispatched by the view store, not here.
            return
        args = rest.split(":") if rest else []
        name = f"{prefix}:{args[0]}" if args else prefix
        await self._run_tracked(name, interaction, self._guard_component(route, interaction, args))

    async def _guard_component(self, route: ComponentRoute, interaction: nextcord.Interaction, args) -> None:
        try:
            if args and args[0] in route.modal_actions:
                await route.handler(interaction, args)
                return
            if not await acknowledge(interaction, Acknowledgement.UPDATE):
                return
            await refuse_when_switched_off()
            await route.handler(interaction, args)
        except DomainError as refusal:
            await answer_refusal(interaction, refusal)
        except Exception as error:  # noqa: BLE001 - the last resort of a component: report and answer
            await report_unexpected_error(interaction, error)

    async def _run_tracked(
        self, name: str, interaction: nextcord.Interaction, handling: Awaitable[None]
    ) -> None:
        run = InteractionRun(command=name, discord_user_id=interaction.user.id)
        token = current_run.set(run)
        try:
            await handling
        finally:
            current_run.reset(token)
            self.commands_served += 1
            duration_ms = (time.perf_counter() - run.started) * 1000
            logger.info(
                "bot_interaction_handled",
                command=name,
                outcome=run.outcome,
                duration_ms=round(duration_ms, 2),
            )
            self._in_background(
                database_sync_to_async(record_command_invocation)(
                    command=name,
                    discord_user_id=str(run.discord_user_id),
                    user_id=run.user_id,
                    duration_ms=duration_ms,
                    outcome=run.outcome,
                )
            )

    def _in_background(self, coro: Awaitable) -> None:
        # Keep a reference: the loop holds tasks weakly, and an unreferenced one can vanish mid-run.
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(_log_background_failure)

    async def on_error(self, event_method: str, *args, **kwargs) -> None:
        logger.exception("bot_event_failed", event=event_method)
        sentry_sdk.capture_exception()

    async def on_application_command_error(self, interaction: nextcord.Interaction, exception) -> None:
        # Every cog maps its errors to a reply (cogs.base.BotCog); nextcord's default would print to stderr.
        return

    async def on_http_ratelimit(self, limit, remaining, reset_after, bucket, scope) -> None:
        logger.info(
            "bot_http_ratelimited",
            limit=limit,
            remaining=remaining,
            reset_after=reset_after,
            bucket=bucket,
            scope=scope,
        )

    async def on_global_http_ratelimit(self, retry_after: float) -> None:
        logger.warning("bot_global_ratelimit", retry_after=retry_after)

    # --- Heartbeat ------------------------------------------------------------------------------------
    async def write_heartbeat(self) -> None:
        latency = self.latency
        try:
            await database_sync_to_async(record_heartbeat)(
                instance=self.instance,
                started_at=self.started_at,
                latency_ms=round(latency * 1000, 2) if math.isfinite(latency) else None,
                guild_count=len(self.guilds),
                commands_served=self.commands_served,
            )
        except DatabaseError:
            # A database blip must not stop the loop: the next beat retries, /health shows the gap.
            logger.exception("bot_heartbeat_failed", instance=self.instance)
            sentry_sdk.capture_exception()

    async def close(self) -> None:
        # Called by the signal handler and again by runbot's `finally` (and by nextcord itself): every
        # caller waits for the one shutdown, so asyncio.run never cancels it halfway.
        if self._shutdown is None:
            self._shutdown = asyncio.ensure_future(self._close_once())
        await asyncio.shield(self._shutdown)

    async def _close_once(self) -> None:
        self.heartbeat.cancel()
        await super().close()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        try:
            await database_sync_to_async(clear_heartbeat)(instance=self.instance)
        except DatabaseError:
            logger.exception("bot_heartbeat_clear_failed", instance=self.instance)
        logger.info("bot_closed", instance=self.instance)


class DealScaleBot(DealScaleBotMixin, nextcord.Client):
    """One gateway connection: enough below 2,500 guilds."""


class ShardedDealScaleBot(DealScaleBotMixin, nextcord.AutoShardedClient):
    """Several shards in one process; without `shard_count`, Discord's recommendation from /gateway/bot."""


def _log_background_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("bot_background_task_failed", error=repr(task.exception()))
        sentry_sdk.capture_exception(task.exception())


def instance_name(*, shards: int | str | None, shard_ids: list[int] | None) -> str:
    """`bot-<host>`, or `bot-<host>-shards-<ids>-of-<n>` when sharded: one heartbeat row per process."""
    name = f"bot-{socket.gethostname()}"
    if shards is None:
        return name[:100]
    ids = ",".join(str(shard_id) for shard_id in shard_ids) if shard_ids else "all"
    return f"{name}-shards-{ids}-of-{shards}"[:100]


def build_bot(*, shards: int | str | None = None, shard_ids: list[int] | None = None) -> DealScaleBotMixin:
    """The bot with every cog loaded, not connected. Call it inside the running event loop.

    `shards`: None for one connection, an int for that many shards, "auto" for Discord's recommendation.
    """
    from discordbot.cogs import load_cogs

    options: dict = {}
    if shards is None:
        bot_class = DealScaleBot
    else:
        bot_class = ShardedDealScaleBot
        if shards != "auto":
            options["shard_count"] = int(shards)
        if shard_ids is not None:
            options["shard_ids"] = shard_ids
    bot = bot_class(
        instance=instance_name(shards=shards, shard_ids=shard_ids),
        heartbeat_seconds=settings.BOT_HEARTBEAT_INTERVAL_SECONDS,
        # A zombied connection (no HEARTBEAT_ACK) is noticed only as silence: nextcord closes it with 4000
        # and RESUMEs once nothing arrived for this long (gateway.mdx, "Heartbeat Interval").
        heartbeat_timeout=settings.BOT_GATEWAY_TIMEOUT_SECONDS,
        **options,
    )
    load_cogs(bot)
    bot.remember_local_commands()
    return bot

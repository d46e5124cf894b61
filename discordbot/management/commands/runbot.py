"""`manage.py runbot`: run the Discord bot in the foreground until SIGINT/SIGTERM."""

import asyncio
import signal

import nextcord
import structlog
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from discord_rest.ratelimit import install_on_nextcord
from discordbot.bot import build_bot

logger = structlog.get_logger(__name__)

EXIT_MISSING_TOKEN = 2
EXIT_REJECTED_TOKEN = 3
EXIT_GATEWAY_REFUSED = 4


def shards_argument(value: str) -> int | str:
    if value == "auto":
        return value
    if not value.isdigit() or int(value) < 1:
        raise ValueError(value)
    return int(value)


def shard_ids_argument(value: str) -> list[int]:
    return [int(part) for part in value.split(",")]


async def run_bot(*, token: str, shards: int | str | None, shard_ids: list[int] | None) -> None:
    """Connect and serve until closed; reconnects and resumes on gateway drops (nextcord's connect loop)."""
    # Every REST call, interaction callbacks included, and the GET /gateway that yields the websocket URL.
    nextcord.http.Route.BASE = settings.DISCORD_API_BASE_URL
    bot = build_bot(shards=shards, shard_ids=shard_ids)
    # The bot's REST calls share the token's global limit and invalid-request count with the other processes.
    install_on_nextcord(bot)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, _request_stop, bot, signum)
    try:
        await bot.start(token, reconnect=True)
    finally:
        await bot.close()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def _request_stop(bot, signum: int) -> None:
    logger.info("bot_stopping", signal=signal.Signals(signum).name)
    asyncio.ensure_future(bot.close())


class Command(BaseCommand):
    help = "Run the DealScale Discord bot (slash commands, moderation buttons, heartbeat) until stopped."

    def add_arguments(self, parser):
        parser.add_argument(
            "--shards",
            type=shards_argument,
            default=None,
            help="Run N shards in this process, or 'auto' for Discord's recommended count (default: none).",
        )
        parser.add_argument(
            "--shard-ids",
            type=shard_ids_argument,
            default=None,
            help="Comma-separated shard ids run by this process (with --shards N, to split shards).",
        )

    def handle(self, *args, shards=None, shard_ids=None, **options):
        token = settings.DISCORD_BOT_TOKEN
        if not token:
            raise CommandError(
                "DISCORD_BOT_TOKEN is not set: put the bot token (Developer Portal → Bot → Reset Token) "
                "in the environment or in .env.",
                returncode=EXIT_MISSING_TOKEN,
            )
        if shard_ids is not None and not isinstance(shards, int):
            raise CommandError("--shard-ids needs --shards N (the total shard count).", returncode=2)
        logger.info("bot_starting", api=settings.DISCORD_API_BASE_URL, shards=shards, shard_ids=shard_ids)
        try:
            asyncio.run(run_bot(token=token, shards=shards, shard_ids=shard_ids))
        except nextcord.LoginFailure as error:
            raise CommandError(
                f"Discord rejected DISCORD_BOT_TOKEN ({error}). Check the token in the Developer Portal.",
                returncode=EXIT_REJECTED_TOKEN,
            ) from error
        except nextcord.PrivilegedIntentsRequired as error:
            raise CommandError(
                "Discord refused the gateway connection: a privileged intent is not enabled for this bot.",
                returncode=EXIT_GATEWAY_REFUSED,
            ) from error
        except nextcord.ConnectionClosed as error:
            raise CommandError(
                f"Discord closed the gateway for good (code {error.code}): "
                f"{error.reason or 'no reason given'}.",
                returncode=EXIT_GATEWAY_REFUSED,
            ) from error
        self.stdout.write("Bot stopped.")

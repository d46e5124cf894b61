"""The bot's application commands as Discord payloads, and the hash that tells whether they changed."""

import asyncio
import hashlib
import json

from discordbot.models import CommandRegistration

GLOBAL_SCOPE = CommandRegistration.GLOBAL_SCOPE


def command_payloads() -> list[dict]:
    """The create payloads of every command the bot defines, sorted by name (builds a bot, never connects)."""

    async def collect() -> list[dict]:
        from discordbot.bot import build_bot

        bot = build_bot()
        try:
            return sorted(
                (command.get_payload(None) for command in bot.get_all_application_commands()),
                key=lambda payload: (payload["type"], payload["name"]),
            )
        finally:
            await bot.http.close()

    # nextcord clients bind to the running loop when built: build it inside one (DISCORD_NOTES §1.5).
    return asyncio.run(collect())


def payload_hash(payloads: list[dict]) -> str:
    """SHA-256 of the canonical JSON of `payloads`: equal command sets give equal hashes."""
    canonical = json.dumps(payloads, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def scope_for(guild_id: str | None) -> str:
    return guild_id or GLOBAL_SCOPE

"""The bot's application commands as Discord payloads, the hash that tells whether they changed, how they
differ from the commands registered at Discord, and their registration."""

import asyncio
import hashlib
import json
from typing import Any

from discord_rest.client import DiscordClient
from discordbot.models import CommandRegistration
from discordbot.services import remember_command_registration

GLOBAL_SCOPE = CommandRegistration.GLOBAL_SCOPE

# The fields the code decides, with the value that stands for "left out". Discord answers with every field
# filled in (id, version, application_id, dm_permission, contexts, integration_types...), so a registered
# command is compared with the code's on these fields only.
COMMAND_FIELDS: dict[str, Any] = {
    "type": 1,
    "name": None,
    "description": "",
    "name_localizations": None,
    "description_localizations": None,
    "default_member_permissions": None,
    "nsfw": False,
    "options": [],
}
OPTION_FIELDS: dict[str, Any] = {
    "type": None,
    "name": None,
    "description": "",
    "name_localizations": None,
    "description_localizations": None,
    "required": False,
    "choices": [],
    "options": [],
    "channel_types": [],
    "min_value": None,
    "max_value": None,
    "min_length": None,
    "max_length": None,
    "autocomplete": False,
}
CHOICE_FIELDS: dict[str, Any] = {"name": None, "value": None, "name_localizations": None}
COMMAND_TYPES = {1: "slash command", 2: "user command", 3: "message command"}


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


def _canonical(item: dict, fields: dict[str, Any]) -> dict[str, Any]:
    canonical = {}
    for key, left_out in fields.items():
        value = item.get(key)
        if value is None or value == {} or value == []:
            value = left_out
        if key == "options":
            value = [_canonical(option, OPTION_FIELDS) for option in value]
        elif key == "choices":
            value = [_canonical(choice, CHOICE_FIELDS) for choice in value]
        canonical[key] = value
    return canonical


def _label(command: dict) -> str:
    kind = command.get("type", 1)
    return f"/{command['name']}" if kind == 1 else f"{command['name']} ({COMMAND_TYPES.get(kind, kind)})"


def command_differences(local: list[dict], registered: list[dict]) -> list[str]:
    """What differs between the code's commands and those registered at Discord, one phrase per command
    ("/link is not registered", "/credits differs in description"); empty when they match."""
    ours = {(c.get("type", 1), c["name"]): _canonical(c, COMMAND_FIELDS) for c in local}
    theirs = {(c.get("type", 1), c["name"]): _canonical(c, COMMAND_FIELDS) for c in registered}
    differences = []
    for key in sorted(ours.keys() | theirs.keys()):
        if key not in theirs:
            differences.append(f"{_label(ours[key])} is not registered")
        elif key not in ours:
            differences.append(f"{_label(theirs[key])} is registered but no longer in the code")
        elif ours[key] != theirs[key]:
            fields = [field for field in COMMAND_FIELDS if ours[key][field] != theirs[key][field]]
            differences.append(f"{_label(ours[key])} differs in {', '.join(fields)}")
    return differences


def register_commands(
    client: DiscordClient, *, application_id: str, payloads: list[dict], guild_id: str | None = None
) -> list[dict]:
    """Replace every command of the scope (global, or one guild) with `payloads` in one bulk overwrite and
    remember the set's hash; returns the commands Discord registered. Raises DiscordError."""
    registered = client.bulk_overwrite_commands(application_id, payloads, guild_id=guild_id)
    remember_command_registration(
        scope=scope_for(guild_id), payload_hash=payload_hash(payloads), command_count=len(registered)
    )
    return registered

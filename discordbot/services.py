"""Writes of the discordbot app."""

import time

from django.core.cache import cache
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.services import record_audit_event
from discord_rest.client import DiscordClient
from discordbot.models import BotHeartbeat, CommandInvocation, CommandRegistration, ModerationMessage

TEXT_CHANNEL_TYPES = {0, 5}  # GUILD_TEXT, GUILD_ANNOUNCEMENT


class AmbiguousChannel(Exception):
    """No text channel, or several, carry the name asked for."""


def record_heartbeat(
    *, instance: str, started_at, latency_ms: float | None, guild_count: int, commands_served: int
) -> BotHeartbeat:
    """Upsert the heartbeat row of one bot process."""
    heartbeat, _ = BotHeartbeat.objects.update_or_create(
        instance=instance,
        defaults={
            "last_seen_at": timezone.now(),
            "started_at": started_at,
            "latency_ms": latency_ms,
            "guild_count": guild_count,
            "commands_served": commands_served,
        },
    )
    return heartbeat


def clear_heartbeat(*, instance: str) -> None:
    """Forget the heartbeat of a bot process that stopped cleanly, so /health reports it offline at once."""
    BotHeartbeat.objects.filter(instance=instance).delete()


def record_command_invocation(
    *, command: str, discord_user_id: str, user_id: int | None, duration_ms: float, outcome: str
) -> CommandInvocation:
    """Store one handled command or button for the ops dashboard (volume, response time, error rate)."""
    return CommandInvocation.objects.create(
        command=command,
        discord_user_id=discord_user_id,
        user_id=user_id,
        duration_ms=duration_ms,
        outcome=outcome,
    )


def _cooldown_key(command: str, discord_user_id: str) -> str:
    return f"discordbot:cooldown:{command}:{discord_user_id}"


def claim_cooldown(*, command: str, discord_user_id: str, seconds: float) -> float:
    """Start the member's cooldown of `command`; 0 when started, else the seconds left on the running one.

    `cache.add` is atomic (SET NX on Redis), so two shards handling the same member cannot both pass.
    """
    expires_at = time.time() + seconds
    if cache.add(_cooldown_key(command, discord_user_id), expires_at, timeout=seconds):
        return 0.0
    running_until = cache.get(_cooldown_key(command, discord_user_id))
    if running_until is None:
        # Expired between the two calls: the member may go ahead.
        return 0.0
    return max(running_until - time.time(), 0.1)


def release_cooldown(*, command: str, discord_user_id: str) -> None:
    """End the member's cooldown of `command` early (their attempt was refused and cost nothing)."""
    cache.delete(_cooldown_key(command, discord_user_id))


def remember_command_registration(
    *, scope: str, payload_hash: str, command_count: int
) -> CommandRegistration:
    """Store the hash of the command set just registered in `scope` ("global" or a guild id)."""
    registration, _ = CommandRegistration.objects.update_or_create(
        scope=scope,
        defaults={
            "payload_hash": payload_hash,
            "command_count": command_count,
            "registered_at": timezone.now(),
        },
    )
    return registration


def remember_moderation_message(
    *, credit_request_id: int, channel_id: str, message_id: str
) -> ModerationMessage:
    """Store which moderators' channel message carries the buttons of a credit request."""
    message, _ = ModerationMessage.objects.update_or_create(
        credit_request_id=credit_request_id, defaults={"channel_id": channel_id, "message_id": message_id}
    )
    return message


def find_text_channel_id(client: DiscordClient, *, guild_id: str, name: str) -> str:
    """The id of the guild's text channel called `name` (with or without '#').

    Raises AmbiguousChannel (none or several match), DiscordError.
    """
    wanted = name.lstrip("#").lower()
    channels = client.get_guild_channels(guild_id)
    matches = [
        c for c in channels if c.get("type") in TEXT_CHANNEL_TYPES and c.get("name", "").lower() == wanted
    ]
    if not matches:
        raise AmbiguousChannel(f"No text channel named #{wanted} in guild {guild_id}.")
    if len(matches) > 1:
        ids = ", ".join(c["id"] for c in matches)
        raise AmbiguousChannel(f"Several channels are named #{wanted} ({ids}): pass the channel id instead.")
    return matches[0]["id"]


def post_announcement(client: DiscordClient, *, channel_id: str, body: dict, operator: str) -> dict:
    """Post `body` (content or embeds) to the channel and audit it; returns Discord's message.

    Raises DiscordError.
    """
    message = client.send_message(channel_id, **body)
    record_audit_event(
        actor=None,
        action="discord.announcement_posted",
        source=AuditEvent.Source.CLI,
        data={"channel_id": channel_id, "message_id": message["id"], **body, "operator": operator},
    )
    return message

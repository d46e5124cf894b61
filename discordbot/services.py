"""Writes of the discordbot app, and the Discord deliveries of the credits events (one function each).

Each message carries a nonce derived from its event (`discord_rest.client.nonce_for`), so repeating a
delivery within Discord's nonce window never posts twice; after it, the stored message ids decide. Each
delivery returns what it left behind, which its outbox entry keeps.
"""

import json
import time

import structlog
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from accounts.models import AuditEvent, User
from accounts.selectors import discord_id_for
from accounts.services import record_audit_event
from credits.models import CreditRequest
from discord_rest.client import (
    DiscordClient,
    DiscordError,
    DiscordNotFound,
    DiscordRateLimited,
    DiscordServerError,
    nonce_for,
)
from discordbot import components, embeds
from discordbot.errors import AmbiguousChannel
from discordbot.models import BotHeartbeat, CommandInvocation, CommandRegistration, ModerationMessage
from discordbot.selectors import credit_request_to_deliver, moderation_message_for

logger = structlog.get_logger(__name__)

TEXT_CHANNEL_TYPES = {0, 5}  # GUILD_TEXT, GUILD_ANNOUNCEMENT


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


def post_announcement(client: DiscordClient, *, channel_id: str, body: dict, actor: User | str) -> dict:
    """Post `body` (content or embeds) to the channel and audit it; returns Discord's message.

    The same announcement to the same channel carries the same nonce: repeated within Discord's nonce
    window (a retry, or the command run again after a timeout) it returns the first message.
    `actor` is the user, or for the CLI the shell user's name (see record_audit_event). Raises DiscordError.
    """
    event = json.dumps({"channel_id": channel_id, "body": body}, sort_keys=True)
    message = client.send_message(channel_id, **body, nonce=nonce_for(f"announcement:{event}"))
    record_audit_event(
        actor=actor,
        action="discord.announcement_posted",
        source=AuditEvent.Source.CLI,
        data={"channel_id": channel_id, "message_id": message["id"], **body},
    )
    return message


def post_moderation_request(request_id: int) -> dict:
    """Post a new credit request to DISCORD_MOD_CHANNEL_ID with Approve / Deny buttons, once.

    Skipped when no channel is configured, the request is no longer pending, or its message was already
    posted (the stored ModerationMessage, which outlives Discord's nonce window). Returns
    {"channel_id", "message_id"} or {"skipped": why}. Raises DiscordError.
    """
    channel_id = settings.DISCORD_MOD_CHANNEL_ID
    if not channel_id:
        logger.info("moderation_post_skipped", request_id=request_id, reason="DISCORD_MOD_CHANNEL_ID not set")
        return {"skipped": "DISCORD_MOD_CHANNEL_ID is not set"}
    posted = moderation_message_for(credit_request_id=request_id)
    if posted is not None:
        logger.info("moderation_post_skipped", request_id=request_id, reason="already posted")
        return {"channel_id": posted.channel_id, "message_id": posted.message_id}
    credit_request = credit_request_to_deliver(request_id)
    if credit_request is None or not credit_request.is_pending:
        logger.info("moderation_post_skipped", request_id=request_id, reason="not pending")
        return {"skipped": "the request is no longer pending"}
    embed = embeds.moderation_request(
        request_id=credit_request.pk,
        member=str(credit_request.user),
        discord_id=discord_id_for(credit_request.user),
        amount=credit_request.amount,
        reason=credit_request.reason,
        source=credit_request.source,
    )
    message = DiscordClient().send_message(
        channel_id,
        embeds=[embed.to_dict()],
        components=components.moderation_buttons(credit_request.pk),
        nonce=nonce_for(f"moderation_post:{credit_request.pk}"),
    )
    remember_moderation_message(
        credit_request_id=credit_request.pk, channel_id=channel_id, message_id=message["id"]
    )
    logger.info("moderation_post_sent", request_id=request_id, message_id=message["id"])
    return {"channel_id": channel_id, "message_id": message["id"]}


def show_decision_on_moderation_message(request_id: int) -> dict:
    """Show the decision on the request's moderators' message and remove its buttons.

    Covers decisions made on the web, in the admin or by the member cancelling; after a button click the
    message already shows it and this edit is a harmless repeat. Skipped when nothing was posted or the
    request is pending; a message deleted since is given up. Returns {"message_id"} or {"skipped": why}.
    Raises DiscordError.
    """
    posted = moderation_message_for(credit_request_id=request_id)
    credit_request = credit_request_to_deliver(request_id)
    if posted is None:
        return {"skipped": "nothing was posted to the moderators"}
    if credit_request is None or credit_request.is_pending:
        return {"skipped": "the request is not decided"}
    decider = credit_request.decided_by or credit_request.user
    decider_discord_id = discord_id_for(decider)
    embed = embeds.moderation_decided(
        request_id=credit_request.pk,
        member=str(credit_request.user),
        amount=credit_request.amount,
        reason=credit_request.reason,
        status=credit_request.status,
        moderator=f"{decider} (<@{decider_discord_id}>)" if decider_discord_id else str(decider),
        note=credit_request.decision_note,
    )
    try:
        DiscordClient().edit_message(
            posted.channel_id, posted.message_id, embeds=[embed.to_dict()], components=[]
        )
    except DiscordNotFound:
        logger.info("moderation_message_gone", request_id=request_id, message_id=posted.message_id)
        return {"skipped": f"message {posted.message_id} was deleted"}
    logger.info("moderation_message_updated", request_id=request_id, status=credit_request.status)
    return {"message_id": posted.message_id}


def dm_decision(request_id: int) -> dict:
    """DM the member the decision on their request when their Discord account is linked.

    Skipped for a pending or unknown request and for a member who cancelled their own request. A refusal
    that retrying cannot fix (403 DMs closed, 404 unknown user) is logged and given up: the decision,
    committed before, never depends on it. Returns {"channel_id", "message_id"} or {"skipped": why}.
    Raises DiscordRateLimited, DiscordServerError.
    """
    credit_request = credit_request_to_deliver(request_id)
    if credit_request is None or credit_request.is_pending:
        logger.warning("credit_decision_notice_skipped", request_id=request_id, reason="not decided")
        return {"skipped": "the request is not decided"}
    if (
        credit_request.status == CreditRequest.Status.CANCELLED
        and credit_request.decided_by_id == credit_request.user_id
    ):
        logger.info("credit_decision_notice_skipped", request_id=request_id, reason="cancelled by the member")
        return {"skipped": "cancelled by the member"}
    discord_id = discord_id_for(credit_request.user)
    if discord_id is None:
        logger.info("credit_decision_notice_skipped", request_id=request_id, reason="discord not linked")
        return {"skipped": "Discord is not linked"}
    embed = embeds.decision_dm(
        request_id=credit_request.pk,
        amount=credit_request.amount,
        reason=credit_request.reason,
        status=credit_request.status,
        note=credit_request.decision_note,
        decided_at=credit_request.decided_at,
    )
    try:
        message = DiscordClient().send_dm(
            discord_id, embeds=[embed.to_dict()], nonce=nonce_for(f"decision_dm:{request_id}")
        )
    except (DiscordRateLimited, DiscordServerError):
        raise  # for now only: the delivery retries these
    except DiscordError as exc:
        # Retrying cannot help: the member closed their DMs (403/50007), left Discord (404)...
        logger.info(
            "credit_decision_notice_refused",
            request_id=request_id,
            discord_id=discord_id,
            status=exc.status,
            code=exc.code,
        )
        return {"skipped": f"Discord refused the DM ({exc.status}, code {exc.code})"}
    logger.info("credit_decision_notice_sent", request_id=request_id, discord_id=discord_id)
    return {"channel_id": message["channel_id"], "message_id": message["id"]}

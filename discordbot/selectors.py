"""Reads of the discordbot app."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from credits.models import CreditRequest
from credits.selectors import credit_requests
from discordbot.models import BotHeartbeat, CommandRegistration, ModerationMessage


def bot_is_online() -> bool:
    """True when some bot process wrote a heartbeat within BOT_HEARTBEAT_MAX_AGE_SECONDS."""
    fresh_after = timezone.now() - timedelta(seconds=settings.BOT_HEARTBEAT_MAX_AGE_SECONDS)
    return BotHeartbeat.objects.filter(last_seen_at__gte=fresh_after).exists()


def registered_command_hash(*, scope: str) -> str | None:
    """The hash of the command set last registered in `scope` ("global" or a guild id), or None."""
    return CommandRegistration.objects.filter(scope=scope).values_list("payload_hash", flat=True).first()


def moderation_message_exists(*, credit_request_id: int) -> bool:
    """True when the request's Approve/Deny message was already posted to the moderators' channel."""
    return ModerationMessage.objects.filter(credit_request_id=credit_request_id).exists()


def moderation_message_for(*, credit_request_id: int) -> ModerationMessage | None:
    """The moderators' channel message posted for the request, or None."""
    return ModerationMessage.objects.filter(credit_request_id=credit_request_id).first()


def credit_request_to_deliver(request_id: int) -> CreditRequest | None:
    """The credit request with its member and decider loaded, for a message about it; None if unknown."""
    return credit_requests().filter(pk=request_id).first()

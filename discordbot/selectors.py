"""Reads of the discordbot app."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from discordbot.models import BotHeartbeat


def bot_is_online() -> bool:
    """True when some bot process wrote a heartbeat within BOT_HEARTBEAT_MAX_AGE_SECONDS."""
    fresh_after = timezone.now() - timedelta(seconds=settings.BOT_HEARTBEAT_MAX_AGE_SECONDS)
    return BotHeartbeat.objects.filter(last_seen_at__gte=fresh_after).exists()

"""Writes of the discordbot app."""

from django.utils import timezone

from discordbot.models import BotHeartbeat


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

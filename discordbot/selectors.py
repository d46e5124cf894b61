"""Reads of the discordbot app."""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Avg, Count, Q
from django.utils import timezone

from credits.models import CreditRequest
from credits.selectors import credit_requests
from dealscale.timeseries import per_bucket
from discordbot.models import BotHeartbeat, CommandInvocation, CommandRegistration, ModerationMessage

# Bot liveness: two rules read the heartbeats on purpose, with their own thresholds.
# - The health check (/health/discord, the dashboard's uptime, the dealscale_bot_up metric):
#   heartbeat_is_fresh / bot_is_online, online while the newest heartbeat is at most
#   BOT_HEARTBEAT_MAX_AGE_SECONDS old.
# - The bot-offline alert: seconds_since_last_heartbeat / bot_offline_for_alert, firing once no
#   heartbeat came for more than ALERT_BOT_OFFLINE_SECONDS, so that paging can wait longer than a
#   health check reports red.


def latest_heartbeat() -> BotHeartbeat | None:
    """The newest heartbeat of any bot process, fresh or stale, or None when no bot ever sent one."""
    return BotHeartbeat.objects.order_by("-last_seen_at").first()


def heartbeat_is_fresh(heartbeat: BotHeartbeat | None, *, now: datetime) -> bool:
    """The health rule: `heartbeat` was written at most BOT_HEARTBEAT_MAX_AGE_SECONDS before `now`."""
    fresh_after = now - timedelta(seconds=settings.BOT_HEARTBEAT_MAX_AGE_SECONDS)
    return heartbeat is not None and heartbeat.last_seen_at >= fresh_after


def bot_is_online(*, now: datetime | None = None) -> bool:
    """The health check: the newest heartbeat is fresh (heartbeat_is_fresh)."""
    return heartbeat_is_fresh(latest_heartbeat(), now=now or timezone.now())


def live_bot_uptime(*, now: datetime) -> timedelta | None:
    """How long the live bot process has been running, or None when the bot is not online."""
    heartbeat = latest_heartbeat()
    if heartbeat is None or not heartbeat_is_fresh(heartbeat, now=now):
        return None
    return now - heartbeat.started_at


def seconds_since_last_heartbeat(*, now: datetime) -> float | None:
    """Seconds from the newest heartbeat of any bot process to `now` (never negative), or None when no
    bot ever sent one."""
    last_seen = BotHeartbeat.objects.order_by("-last_seen_at").values_list("last_seen_at", flat=True).first()
    return None if last_seen is None else max((now - last_seen).total_seconds(), 0.0)


def bot_offline_for_alert(silent_for: float | None) -> bool:
    """The alert rule: no bot ever sent a heartbeat, or none came for more than ALERT_BOT_OFFLINE_SECONDS
    (`silent_for` as measured by seconds_since_last_heartbeat)."""
    return silent_for is None or silent_for > settings.ALERT_BOT_OFFLINE_SECONDS


def registered_command_hash(*, scope: str) -> str | None:
    """The hash of the command set last registered in `scope` ("global" or a guild id), or None."""
    return CommandRegistration.objects.filter(scope=scope).values_list("payload_hash", flat=True).first()


def command_stats(*, since: datetime, until: datetime) -> dict[str, Any]:
    """Bot command invocations in [since, until): `total`, `errors` (the handler raised; a refusal is a
    correct answer), `distinct_commands` and `avg_ms` (None without invocations)."""
    return CommandInvocation.objects.filter(created_at__gte=since, created_at__lt=until).aggregate(
        total=Count("id"),
        errors=Count("id", filter=Q(outcome=CommandInvocation.Outcome.ERROR)),
        distinct_commands=Count("command", distinct=True),
        avg_ms=Avg("duration_ms"),
    )


def command_stats_per_bucket(
    *, since: datetime, until: datetime, kind: str
) -> dict[datetime, dict[str, Any]]:
    """command_stats' `total`, `errors` and `avg_ms` per "hour" or "day" bucket of [since, until)."""
    return per_bucket(
        CommandInvocation.objects.all(),
        field="created_at",
        since=since,
        until=until,
        kind=kind,
        total=Count("id"),
        errors=Count("id", filter=Q(outcome=CommandInvocation.Outcome.ERROR)),
        avg_ms=Avg("duration_ms"),
    )


def command_counts_by_outcome(*, since: datetime) -> list[dict[str, Any]]:
    """Bot commands handled after `since`, one row per `command` and `outcome` with `count` and `avg_ms`,
    ordered by command and outcome."""
    rows = (
        CommandInvocation.objects.filter(created_at__gt=since)
        .values("command", "outcome")
        .annotate(count=Count("id"), avg_ms=Avg("duration_ms"))
        .order_by("command", "outcome")
    )
    return [dict(row) for row in rows]


def command_error_counts(*, since: datetime, until: datetime) -> dict[str, int]:
    """Bot commands handled in (since, until]: `total` and `errors` (the handler raised)."""
    return CommandInvocation.objects.filter(created_at__gt=since, created_at__lte=until).aggregate(
        total=Count("id"), errors=Count("id", filter=Q(outcome=CommandInvocation.Outcome.ERROR))
    )


def moderation_message_for(*, credit_request_id: int) -> ModerationMessage | None:
    """The moderators' channel message posted for the request, or None."""
    return ModerationMessage.objects.filter(credit_request_id=credit_request_id).first()


def credit_request_to_deliver(request_id: int) -> CreditRequest | None:
    """The credit request with its member and decider loaded, for a message about it; None if unknown."""
    return credit_requests().filter(pk=request_id).first()

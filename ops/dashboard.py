"""Reads behind the "Discord Integration Health" admin page: figures and trends from recorded events.

Every figure is counted from rows other parts of the system write as things happen: audit events
(`discord.linked`), bot command invocations, credit requests, bot heartbeats and bot-offline alert
incidents, each read through its app's selectors. Trends are one grouped query per series (by hour
or by day, dealscale.timeseries), with empty buckets filled in here.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from accounts.selectors import discord_links_count, discord_links_per_bucket
from credits.selectors import (
    credit_decisions_per_bucket,
    credit_request_stats,
    credit_requests_created_per_bucket,
)
from discordbot.selectors import command_stats, command_stats_per_bucket, live_bot_uptime
from ops.models import AlertIncident

RANGES = {"24h": "Last 24 hours", "7d": "Last 7 days"}


@dataclass(frozen=True)
class Trend:
    """One value per bucket (None where there is nothing to measure), oldest first."""

    starts: list[datetime]
    values: list[float | None]


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    value: float | timedelta | None
    display: str
    window: str
    trend: Trend


@dataclass(frozen=True)
class _Buckets:
    starts: list[datetime]
    step: timedelta
    kind: str  # "hour" or "day", as dealscale.timeseries buckets

    @property
    def since(self) -> datetime:
        return self.starts[0]

    @property
    def until(self) -> datetime:
        return self.starts[-1] + self.step


def buckets_for(range_key: str, *, now: datetime) -> _Buckets:
    """The buckets of a trend range: 24 hours ending with the current hour, or 7 days ending today."""
    if range_key == "7d":
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return _Buckets([today - timedelta(days=6 - i) for i in range(7)], timedelta(days=1), "day")
    hour = now.replace(minute=0, second=0, microsecond=0)
    return _Buckets([hour - timedelta(hours=23 - i) for i in range(24)], timedelta(hours=1), "hour")


def _trend(buckets: _Buckets, rows: dict, value: Callable) -> Trend:
    return Trend(starts=buckets.starts, values=[value(rows.get(start)) for start in buckets.starts])


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def availability_trend(buckets: _Buckets) -> Trend:
    """Share of each bucket not covered by a bot-offline incident (the alert evaluates every minute)."""
    incidents = AlertIncident.objects.filter(rule="bot_offline", started_at__lt=buckets.until).filter(
        Q(resolved_at__isnull=True) | Q(resolved_at__gt=buckets.since)
    )
    now = timezone.now()
    outages = [(i.started_at, i.resolved_at or now) for i in incidents]
    values = []
    for start in buckets.starts:
        end = min(start + buckets.step, max(now, start))
        span = (end - start).total_seconds()
        if span <= 0:
            values.append(None)
            continue
        down = sum(max((min(end, stop) - max(start, begin)).total_seconds(), 0) for begin, stop in outages)
        values.append(1 - min(down, span) / span)
    return Trend(starts=buckets.starts, values=values)


def health_figures(*, range_key: str = "24h", now: datetime | None = None) -> list[Figure]:
    """The seven figures of the dashboard with their trends over `range_key` ("24h" or "7d").

    The bot's uptime counts while the health check says it is online (discordbot.selectors.bot_is_online)."""
    now = now or timezone.now()
    buckets = buckets_for(range_key, now=now)
    day_ago, hour_ago = now - timedelta(hours=24), now - timedelta(hours=1)
    until = now + timedelta(microseconds=1)

    series = {"since": buckets.since, "until": buckets.until, "kind": buckets.kind}
    links_rows = discord_links_per_bucket(**series)
    command_rows = command_stats_per_bucket(**series)
    created_rows = credit_requests_created_per_bucket(**series)
    decided_rows = credit_decisions_per_bucket(**series)

    links = discord_links_count(since=day_ago, until=until)
    commands = command_stats(since=hour_ago, until=until)
    credits = credit_request_stats(since=day_ago, until=until)
    approval = _ratio(credits["approved"], credits["approved"] + credits["denied"])
    uptime = live_bot_uptime(now=now)
    error_rate = _ratio(commands["errors"], commands["total"])

    return [
        Figure(
            "links", "Discord account links", links, str(links), "24 h", _trend(buckets, links_rows, _count)
        ),
        Figure(
            "commands",
            "Active Discord commands",
            commands["total"],
            f"{commands['total']} ({commands['distinct_commands']} distinct)",
            "1 h",
            _trend(buckets, command_rows, _commands),
        ),
        Figure(
            "credit_requests",
            "Credit requests",
            credits["created"],
            str(credits["created"]),
            "24 h",
            _trend(buckets, created_rows, _count),
        ),
        Figure(
            "approval_rate",
            "Approval rate",
            approval,
            _percent(approval),
            "24 h",
            _trend(buckets, decided_rows, _approval_rate),
        ),
        Figure("bot_uptime", "Bot uptime", uptime, _duration(uptime), "now", availability_trend(buckets)),
        Figure(
            "avg_response",
            "Average command response",
            commands["avg_ms"],
            "—" if commands["avg_ms"] is None else f"{commands['avg_ms']:.0f} ms",
            "1 h",
            _trend(buckets, command_rows, _avg_ms),
        ),
        Figure(
            "error_rate",
            "Error rate",
            error_rate,
            _percent(error_rate),
            "1 h",
            _trend(buckets, command_rows, _error_rate),
        ),
    ]


def _count(count: int | None) -> int:
    return count or 0


def _commands(row: dict | None) -> int:
    return row["total"] if row else 0


def _approval_rate(row: dict | None) -> float | None:
    return _ratio(row["approved"], row["decided"]) if row else None


def _avg_ms(row: dict | None) -> float | None:
    return row["avg_ms"] if row else None


def _error_rate(row: dict | None) -> float | None:
    return _ratio(row["errors"], row["total"]) if row else None


def _percent(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio:.1%}"


def _duration(delta: timedelta | None) -> str:
    if delta is None:
        return "offline"
    total = int(delta.total_seconds())
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"

"""Reads behind the "Discord Integration Health" admin page: figures and trends from recorded events.

Every figure is counted from rows other parts of the system write as things happen: audit events
(`discord.linked`), bot command invocations, credit requests, bot heartbeats and bot-offline alert
incidents. Trends are one grouped query per series (TruncHour / TruncDay), with empty buckets
filled in here.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Avg, Count, Q, QuerySet
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone

from accounts.models import AuditEvent
from credits.models import CreditRequest
from discordbot.models import BotHeartbeat, CommandInvocation
from ops.models import AlertIncident

LINKED_ACTION = "discord.linked"
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
    trunc: type

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
        return _Buckets([today - timedelta(days=6 - i) for i in range(7)], timedelta(days=1), TruncDay)
    hour = now.replace(minute=0, second=0, microsecond=0)
    return _Buckets([hour - timedelta(hours=23 - i) for i in range(24)], timedelta(hours=1), TruncHour)


def _grouped(queryset: QuerySet, *, field: str, buckets: _Buckets, **aggregates) -> dict[datetime, dict]:
    rows = (
        queryset.filter(**{f"{field}__gte": buckets.since, f"{field}__lt": buckets.until})
        .annotate(bucket=buckets.trunc(field))
        .values("bucket")
        .annotate(**aggregates)
        .order_by("bucket")
    )
    return {row["bucket"]: row for row in rows}


def _trend(
    buckets: _Buckets, rows: dict[datetime, dict], value: Callable[[dict | None], float | None]
) -> Trend:
    return Trend(starts=buckets.starts, values=[value(rows.get(start)) for start in buckets.starts])


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def links_count(*, since: datetime, until: datetime) -> int:
    """Discord accounts linked in [since, until), from the audit trail (unlinks do not erase them)."""
    return AuditEvent.objects.filter(
        action=LINKED_ACTION, created_at__gte=since, created_at__lt=until
    ).count()


def command_stats(*, since: datetime, until: datetime) -> dict:
    """Bot command invocations in [since, until): total, errors, distinct commands, average duration."""
    return CommandInvocation.objects.filter(created_at__gte=since, created_at__lt=until).aggregate(
        total=Count("id"),
        errors=Count("id", filter=Q(outcome=CommandInvocation.Outcome.ERROR)),
        distinct_commands=Count("command", distinct=True),
        avg_ms=Avg("duration_ms"),
    )


def credit_stats(*, since: datetime, until: datetime) -> dict:
    """Credit requests created in [since, until), and those approved or denied in it (cancelled ones are
    the member's own choice, not a decision)."""
    created = CreditRequest.objects.filter(created_at__gte=since, created_at__lt=until).count()
    decided = CreditRequest.objects.filter(decided_at__gte=since, decided_at__lt=until).aggregate(
        approved=Count("id", filter=Q(status=CreditRequest.Status.APPROVED)),
        denied=Count("id", filter=Q(status=CreditRequest.Status.DENIED)),
    )
    return {"created": created, **decided}


def live_bot_uptime(*, now: datetime, max_age: timedelta) -> timedelta | None:
    """How long the live bot process has been running, or None when no heartbeat is fresh."""
    started_at = (
        BotHeartbeat.objects.filter(last_seen_at__gte=now - max_age)
        .order_by("-last_seen_at")
        .values_list("started_at", flat=True)
        .first()
    )
    return None if started_at is None else now - started_at


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


def health_figures(
    *, range_key: str = "24h", now: datetime | None = None, heartbeat_max_age: timedelta
) -> list[Figure]:
    """The seven figures of the dashboard with their trends over `range_key` ("24h" or "7d")."""
    now = now or timezone.now()
    buckets = buckets_for(range_key, now=now)
    day_ago, hour_ago = now - timedelta(hours=24), now - timedelta(hours=1)
    until = now + timedelta(microseconds=1)

    links_rows = _grouped(
        AuditEvent.objects.filter(action=LINKED_ACTION), field="created_at", buckets=buckets, n=Count("id")
    )
    command_rows = _grouped(
        CommandInvocation.objects.all(),
        field="created_at",
        buckets=buckets,
        n=Count("id"),
        errors=Count("id", filter=Q(outcome=CommandInvocation.Outcome.ERROR)),
        avg_ms=Avg("duration_ms"),
    )
    created_rows = _grouped(CreditRequest.objects.all(), field="created_at", buckets=buckets, n=Count("id"))
    decided_rows = _grouped(
        CreditRequest.objects.filter(status__in=[CreditRequest.Status.APPROVED, CreditRequest.Status.DENIED]),
        field="decided_at",
        buckets=buckets,
        n=Count("id"),
        approved=Count("id", filter=Q(status=CreditRequest.Status.APPROVED)),
    )

    links = links_count(since=day_ago, until=until)
    commands = command_stats(since=hour_ago, until=until)
    credits = credit_stats(since=day_ago, until=until)
    approval = _ratio(credits["approved"], credits["approved"] + credits["denied"])
    uptime = live_bot_uptime(now=now, max_age=heartbeat_max_age)
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
            _trend(buckets, command_rows, _count),
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


def _count(row: dict | None) -> int:
    return row["n"] if row else 0


def _approval_rate(row: dict | None) -> float | None:
    return _ratio(row["approved"], row["n"]) if row else None


def _avg_ms(row: dict | None) -> float | None:
    return row["avg_ms"] if row else None


def _error_rate(row: dict | None) -> float | None:
    return _ratio(row["errors"], row["n"]) if row else None


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

"""Reads of the leaderboard: the live generation of a period, its entries, and the rank history.

Display order everywhere: score descending, then who reached the score first (earliest
latest-event time), then user id — the snapshot's `position`. Equal scores share a rank.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from allauth.socialaccount.models import SocialAccount
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from accounts.models import User
from accounts.selectors import discord_avatar_url
from leaderboard.models import LeaderboardSnapshot, RankHistory, ServiceKey, SnapshotGeneration
from leaderboard.periods import Period
from leaderboard.signing import UndecryptableSecret, decrypt_secret

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


@dataclass(frozen=True)
class LeaderboardEntry:
    period: str
    rank: int
    previous_rank: int | None
    position: int
    score: int
    generated_at: datetime
    user: User
    discord_id: str | None
    avatar_url: str | None
    display_name: str


@dataclass(frozen=True)
class HistoryPoint:
    day: date
    rank: int
    score: int


def live_generation(period: str) -> SnapshotGeneration | None:
    """The newest published generation of `period`, or None before the first recalculation."""
    return SnapshotGeneration.objects.filter(period=period).order_by("-id").first()


class _DiscordColumns(TypedDict):
    """What `_with_discord` adds to each snapshot row: the linked account's uid and extra data."""

    discord_uid: str | None
    discord_extra: Any


def _with_discord(
    snapshots: QuerySet[LeaderboardSnapshot],
) -> "QuerySet[WithAnnotations[LeaderboardSnapshot, _DiscordColumns]]":
    discord = SocialAccount.objects.filter(user=OuterRef("user_id"), provider="discord").order_by("pk")
    return snapshots.select_related("user").annotate(
        discord_uid=Subquery(discord.values("uid")[:1]),
        discord_extra=Subquery(discord.values("extra_data")[:1]),
    )


def _entry(
    row: "WithAnnotations[LeaderboardSnapshot, _DiscordColumns]", generation: SnapshotGeneration
) -> LeaderboardEntry:
    extra = row.discord_extra if isinstance(row.discord_extra, Mapping) else {}
    avatar = extra.get("avatar")
    return LeaderboardEntry(
        period=generation.period,
        rank=row.rank,
        previous_rank=row.previous_rank,
        position=row.position,
        score=row.score,
        generated_at=generation.generated_at,
        user=row.user,
        discord_id=row.discord_uid,
        # null without a custom avatar (the API contract), not Discord's default picture.
        avatar_url=(
            discord_avatar_url(discord_id=row.discord_uid, avatar_hash=avatar, size=None)
            if avatar and row.discord_uid is not None
            else None
        ),
        display_name=row.user.display_name or extra.get("global_name") or row.user.username,
    )


def top_entries(*, period: str, limit: int, offset: int = 0, generation: SnapshotGeneration | None = None):
    """Entries `offset+1 … offset+limit` of the live (or given) generation of `period`, in display order."""
    generation = generation or live_generation(period)
    if generation is None:
        return []
    rows = LeaderboardSnapshot.objects.filter(
        generation_id=generation.pk, position__gt=offset, position__lte=offset + limit
    ).order_by("position")
    return [_entry(row, generation) for row in _with_discord(rows)]


def entry_for(user: User, *, period: str = Period.ALL) -> LeaderboardEntry | None:
    """`user`'s entry in the live generation of `period`, or None when unranked."""
    generation = live_generation(period)
    if generation is None:
        return None
    row = _with_discord(
        LeaderboardSnapshot.objects.filter(generation_id=generation.pk, user_id=user.pk)
    ).first()
    return _entry(row, generation) if row is not None else None


def latest_snapshot_rows(period: str, *, user_ids: Iterable[int] | None = None) -> Iterable:
    """(user_id, rank, score) of every ranked user in the live generation (or of `user_ids` only),
    streamed (for role sync and Linked Roles)."""
    generation = live_generation(period)
    if generation is None:
        return []
    rows = LeaderboardSnapshot.objects.filter(generation_id=generation.pk)
    if user_ids is not None:
        rows = rows.filter(user_id__in=list(user_ids))
    return rows.values_list("user_id", "rank", "score", named=True).iterator(chunk_size=10_000)


def leaderboard_payload(*, period: str, limit: int, offset: int) -> tuple[int | None, dict]:
    """The API document of a leaderboard page and the generation it comes from."""
    generation = live_generation(period)
    entries = (
        top_entries(period=period, limit=limit, offset=offset, generation=generation) if generation else []
    )
    return (
        generation.pk if generation else None,
        page_document(period=period, generation=generation, entries=entries),
    )


def page_document(
    *, period: str, generation: SnapshotGeneration | None, entries: Sequence[LeaderboardEntry]
) -> dict:
    return {
        "period": period,
        "generated_at": iso(generation.generated_at) if generation else None,
        "count": generation.row_count if generation else 0,
        "results": [entry_document(entry) for entry in entries],
    }


def entry_document(entry: LeaderboardEntry) -> dict:
    return {
        "rank": entry.rank,
        "previous_rank": entry.previous_rank,
        "score": entry.score,
        "user": {
            "id": entry.user.pk,
            "username": entry.user.username,
            "display_name": entry.display_name,
            "discord_id": entry.discord_id,
            "avatar_url": entry.avatar_url,
        },
    }


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def history_for(user: User, *, days: int, period: str = Period.ALL) -> list[HistoryPoint]:
    """One point per UTC day of the last `days` days (today included) from the first day `user` was ranked.

    A day without a recalculation carries the previous day's standing forward; today is the live
    generation.
    """
    today = timezone.now().astimezone(UTC).date()
    first_day = today - timedelta(days=days - 1)
    rows = RankHistory.objects.filter(user=user, period=period, day__lte=today)
    known = {row.day: (row.rank, row.score) for row in rows.filter(day__gte=first_day)}
    before = rows.filter(day__lt=first_day).order_by("-day").values_list("rank", "score").first()
    live = entry_for(user, period=period)
    if live is not None:
        known[live.generated_at.astimezone(UTC).date()] = (live.rank, live.score)
    points, carried = [], before
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        carried = known.get(day, carried)
        if carried is not None:
            points.append(HistoryPoint(day=day, rank=carried[0], score=carried[1]))
    return points


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    day: date
    rank: int
    score: int


def history_chart_points(
    user: User, *, days: int = 30, period: str = Period.ALL, width: int = 600, height: int = 200
):
    """The rank history of `user` laid out for the inline SVG chart (rank 1 at the top)."""
    history = history_for(user, days=days, period=period)
    padding = 24
    if not history:
        return {"points": [], "polyline": "", "width": width, "height": height, "best": None, "worst": None}
    best, worst = min(p.rank for p in history), max(p.rank for p in history)
    first_day = timezone.now().astimezone(UTC).date() - timedelta(days=days - 1)
    span_x = max(days - 1, 1)
    span_y = max(worst - best, 1)
    points = [
        ChartPoint(
            x=round(padding + (p.day - first_day).days * (width - 2 * padding) / span_x, 1),
            y=round(padding + (p.rank - best) * (height - 2 * padding) / span_y, 1),
            day=p.day,
            rank=p.rank,
            score=p.score,
        )
        for p in history
    ]
    return {
        "points": points,
        "polyline": " ".join(f"{p.x},{p.y}" for p in points),
        "width": width,
        "height": height,
        "best": best,
        "worst": worst,
    }


def resolve_event_users(events: Sequence[Mapping]) -> list[int | None]:
    """The active user id each event names (by `user_id` or linked `discord_id`), None when unknown."""
    user_ids = {event["user_id"] for event in events if event.get("user_id") is not None}
    discord_ids = {str(event["discord_id"]) for event in events if event.get("user_id") is None}
    known_ids = set(User.objects.filter(pk__in=user_ids, is_active=True).values_list("pk", flat=True))
    by_discord = dict(
        SocialAccount.objects.filter(
            provider="discord", uid__in=discord_ids, user__is_active=True
        ).values_list("uid", "user_id")
    )
    return [
        (event["user_id"] if event["user_id"] in known_ids else None)
        if event.get("user_id") is not None
        else by_discord.get(str(event["discord_id"]))
        for event in events
    ]


def active_service_keys_readable() -> dict[str, bool]:
    """Every active score-webhook service key by name, with whether its signing secret still decrypts: it
    stops when SECRET_KEY changes without the old key kept in SECRET_KEY_FALLBACKS."""
    readable = {}
    for name, encrypted in ServiceKey.objects.filter(revoked_at__isnull=True).values_list(
        "name", "encrypted_secret"
    ):
        try:
            decrypt_secret(encrypted)
        except UndecryptableSecret:
            readable[name] = False
        else:
            readable[name] = True
    return readable

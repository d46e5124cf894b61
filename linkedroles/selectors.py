"""Reads of Linked Roles: each member's facts as Discord metadata, what changed since the last push, counts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db.models import Count, Max, Q

from accounts.discord_integration import discord_integration_switched_off
from accounts.selectors import (
    DiscordGrant,
    discord_links_granting,
    discord_links_granting_count,
    granted_discord_scopes,
)
from credits.selectors import credits_earned_by_user
from leaderboard.periods import Period
from leaderboard.selectors import latest_snapshot_rows
from linkedroles import metadata
from linkedroles.models import MetadataRegistration, RoleConnection

SCOPE = "role_connections.write"


def linked_roles_enabled() -> bool:
    """Pushes go out unless LINKED_ROLES_ENABLED is off or the kill switch is off for everyone."""
    return settings.LINKED_ROLES_ENABLED and not discord_integration_switched_off()


@dataclass(frozen=True)
class PlannedPush:
    """A member whose facts differ from what Discord last got."""

    user_id: int
    platform_username: str
    metadata: dict[str, str]
    previous_metadata: dict[str, str] | None  # None: never pushed
    previous_username: str
    rejected_metadata: dict[str, str] | None = None

    @property
    def changed(self) -> bool:
        return self.previous_metadata != self.metadata or self.previous_username != self.platform_username

    @property
    def due(self) -> bool:
        """Changed, and not values Discord already refused."""
        return self.changed and self.metadata != self.rejected_metadata


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def member_metadata(
    grant: DiscordGrant,
    *,
    all_time: dict[int, tuple[int, int]],
    month: dict[int, tuple[int, int]],
    earned: dict[int, int],
) -> dict[str, str]:
    """The metadata values of one member, as Discord stores them (strings).

    A rank is left out while the member has none in that period: a guild's "rank ≤ N" then simply
    does not match, where a made-up rank could.
    """
    values: dict[str, str] = {}
    rank_and_score = all_time.get(grant.user_id)
    if rank_and_score is not None:
        values[metadata.ALL_TIME_RANK] = str(rank_and_score[0])
    values[metadata.POINTS_ALL_TIME] = str(max(rank_and_score[1], 0) if rank_and_score else 0)
    if grant.user_id in month:
        values[metadata.MONTH_RANK] = str(month[grant.user_id][0])
    values[metadata.CREDITS_EARNED] = str(earned.get(grant.user_id, 0))
    values[metadata.LINKED_SINCE] = _iso(grant.linked_at)
    return values


def platform_username(grant: DiscordGrant) -> str:
    return grant.display_name[: metadata.PLATFORM_USERNAME_MAX]


def _standings(period: str, *, user_ids: list[int] | None) -> dict[int, tuple[int, int]]:
    return {row.user_id: (row.rank, row.score) for row in latest_snapshot_rows(period, user_ids=user_ids)}


def desired_connections(*, user_ids: Iterable[int] | None = None) -> list[PlannedPush]:
    """Every member who granted Linked Roles (or those of `user_ids`) with the values Discord should hold,
    and what it last got. A handful of queries whatever the member count: no per-member query."""
    wanted = None if user_ids is None else list(user_ids)
    grants = discord_links_granting(SCOPE, user_ids=wanted)
    if not grants:
        return []
    scope = None if wanted is None else [grant.user_id for grant in grants]
    all_time = _standings(Period.ALL, user_ids=scope)
    month = _standings(Period.MONTH, user_ids=scope)
    earned = credits_earned_by_user(user_ids=scope)
    pushed_rows = RoleConnection.objects.all()
    if scope is not None:
        pushed_rows = pushed_rows.filter(user_id__in=scope)
    pushed = {
        user_id: (values, username, rejected)
        for user_id, values, username, rejected in pushed_rows.values_list(
            "user_id", "pushed_metadata", "pushed_username", "rejected_metadata"
        )
    }
    planned = []
    for grant in grants:
        previous, previous_username, rejected = pushed.get(grant.user_id, (None, "", None))
        planned.append(
            PlannedPush(
                user_id=grant.user_id,
                platform_username=platform_username(grant),
                metadata=member_metadata(grant, all_time=all_time, month=month, earned=earned),
                previous_metadata=previous,
                previous_username=previous_username,
                rejected_metadata=rejected,
            )
        )
    return planned


def changed_connections(*, user_ids: Iterable[int] | None = None) -> list[PlannedPush]:
    """The members whose metadata or display name changed since their last push (or who never got one),
    except values Discord already refused."""
    return [push for push in desired_connections(user_ids=user_ids) if push.due]


def connection_for(user) -> RoleConnection | None:
    return RoleConnection.objects.filter(user=user).first()


def fact_descriptions() -> list[tuple[str, str]]:
    """(name, description) of each fact a guild can ask for."""
    return [(record.name, record.description) for record in metadata.RECORDS]


def facts_of(push: PlannedPush) -> list[tuple[str, str]]:
    """(name, value as a reader wants it) of each fact shared for a member; unset facts are left out."""
    facts = []
    for record in metadata.RECORDS:
        if record.key in push.metadata:
            value = push.metadata[record.key]
            if record.key == metadata.LINKED_SINCE:
                value = value[:10]
            facts.append((record.name, value))
    return facts


def granted_linked_roles(user) -> bool:
    """Whether the member's Discord link holds the Linked Roles scope."""
    return SCOPE in (granted_discord_scopes(user) or set())


def needs_consent(user) -> bool:
    """Whether the member's Discord link lacks the Linked Roles scope (linked before it was asked for)."""
    scopes = granted_discord_scopes(user)
    return scopes is not None and SCOPE not in scopes


def show_consent_prompt(user) -> bool:
    """The profile's "update your Discord connection" prompt: linked without the scope, not dismissed."""
    if not needs_consent(user):
        return False
    return not RoleConnection.objects.filter(user=user, prompt_dismissed_at__isnull=False).exists()


def registered_metadata_hash(application_id: str) -> str | None:
    return (
        MetadataRegistration.objects.filter(application_id=application_id)
        .values_list("payload_hash", flat=True)
        .first()
    )


def metadata_registration(application_id: str) -> MetadataRegistration | None:
    return MetadataRegistration.objects.filter(application_id=application_id).first()


@dataclass(frozen=True)
class LinkedRolesSummary:
    """For /metrics and the health dashboard."""

    granted: int  # members whose link holds the scope
    pushed: int  # members Discord got values for
    failing: int  # members whose last push failed
    last_pushed_at: datetime | None
    registered_at: datetime | None  # the metadata schema, for this application
    paused: bool


def linked_roles_summary() -> LinkedRolesSummary:
    rows = RoleConnection.objects.aggregate(
        pushed=Count("pk", filter=Q(pushed_at__isnull=False)),
        failing=Count("pk", filter=~Q(last_error="")),
        last_pushed_at=Max("pushed_at"),
    )
    registration = metadata_registration(settings.DISCORD_CLIENT_ID)
    return LinkedRolesSummary(
        granted=discord_links_granting_count(SCOPE),
        pushed=rows["pushed"],
        failing=rows["failing"],
        last_pushed_at=rows["last_pushed_at"],
        registered_at=registration.registered_at if registration else None,
        paused=not linked_roles_enabled(),
    )

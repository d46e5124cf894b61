"""Reads of role sync: milestones as planner rules, linked members, standings, runs, next milestone."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Q

from accounts.discord_integration import discord_integration_switched_off
from leaderboard import selectors as leaderboard_selectors
from rolesync.models import Milestone, MilestoneTrack, RoleSyncRun, SyncExclusion
from rolesync.planner import LinkedUser, MilestoneRule, Standing, TrackRule

# The user primary key is a BigAutoField.
USER_ID_MAX = 2**63 - 1


def role_sync_enabled() -> bool:
    """The one switch that pauses every role sync run (scheduled, targeted, API, confirmation).

    Off when ROLE_SYNC_ENABLED is off, or when ops switched `discord_integration` off for everyone
    (`manage.py discord_integration off`): the kill switch pauses role sync along with the bot.
    """
    return settings.ROLE_SYNC_ENABLED and not discord_integration_switched_off()


def milestone_tracks() -> list[TrackRule]:
    """Every track with its milestones, as planner rules (exclusive tracks ordered best first)."""
    tracks = MilestoneTrack.objects.prefetch_related("milestones").order_by("position", "id")
    return [
        TrackRule.build(
            name=track.name,
            exclusive=track.exclusive,
            milestones=[_rule(m) for m in sorted(track.milestones.all(), key=lambda m: (m.position, m.id))],
        )
        for track in tracks
    ]


def _rule(milestone: Milestone) -> MilestoneRule:
    return MilestoneRule(
        name=milestone.name,
        role_id=milestone.discord_role_id,
        period=milestone.period,
        max_rank=milestone.max_rank,
        min_score=milestone.min_score,
    )


def milestones_export() -> dict:
    """The whole milestone configuration in the import format (see configuration.py)."""
    return {
        "tracks": [
            {
                "name": track.name,
                "exclusive": track.exclusive,
                "milestones": [
                    _milestone_export(m)
                    for m in sorted(track.milestones.all(), key=lambda m: (m.position, m.id))
                ],
            }
            for track in MilestoneTrack.objects.prefetch_related("milestones").order_by("position", "id")
        ]
    }


def _milestone_export(milestone: Milestone) -> dict:
    entry: dict[str, str | int | None] = {
        "name": milestone.name,
        "discord_role_id": milestone.discord_role_id,
        "period": milestone.period,
    }
    if milestone.max_rank is not None:
        entry["max_rank"] = milestone.max_rank
    else:
        entry["min_score"] = milestone.min_score
    return entry


def role_names() -> dict[str, str]:
    """Milestone name by managed Discord role id (what dry runs and reports call a role)."""
    return dict(Milestone.objects.values_list("discord_role_id", "name"))


def standings_by_period(periods: Iterable[str]) -> dict[str, dict[int, Standing]]:
    """Rank and score of every ranked user in the latest snapshot of each period."""
    return {
        period: {
            row.user_id: Standing(row.rank, row.score)
            for row in leaderboard_selectors.latest_snapshot_rows(period)
        }
        for period in set(periods)
    }


@dataclass(frozen=True)
class Membership:
    """Who the sync may give roles to (`linked`) and who it must leave alone (`untouchable`)."""

    linked: dict[str, LinkedUser]
    untouchable: frozenset[str]


def membership(
    *, user_ids: Iterable[int] | None = None, discord_ids: Iterable[str] | None = None
) -> Membership:
    """Linked Discord accounts of active users, minus exclusions; optionally only the given members.

    A deactivated user's account is left out of `linked`, so the plan strips their managed roles.
    """
    accounts = SocialAccount.objects.filter(provider="discord")
    if user_ids is not None or discord_ids is not None:
        accounts = accounts.filter(_targets(user_ids or [], discord_ids or []))
    excluded = set(SyncExclusion.objects.values_list("user_id", flat=True))
    linked: dict[str, LinkedUser] = {}
    untouchable = set()
    for uid, user_id, username, display_name, is_active in accounts.values_list(
        "uid", "user_id", "user__username", "user__display_name", "user__is_active"
    ):
        if user_id in excluded:
            untouchable.add(uid)
        elif is_active:
            linked[uid] = LinkedUser(user_id, display_name or username)
    return Membership(linked=linked, untouchable=frozenset(untouchable))


def _targets(user_ids, discord_ids) -> Q:
    return Q(user_id__in=list(user_ids)) | Q(uid__in=[str(d) for d in discord_ids])


def unknown_user_ids(user_ids: Iterable[int]) -> list[int]:
    """The ids among `user_ids` that name no user, out-of-range ones included, in ascending order."""
    wanted = set(user_ids)
    # An id past the primary key's range would make PostgreSQL raise instead of match nothing.
    in_range = [user_id for user_id in wanted if 1 <= user_id <= USER_ID_MAX]
    known = set(get_user_model().objects.filter(pk__in=in_range).values_list("pk", flat=True))
    return sorted(wanted - known)


def discord_ids_of(user_ids: Iterable[int]) -> list[str]:
    """The Discord ids linked to these users today."""
    return list(
        SocialAccount.objects.filter(provider="discord", user_id__in=list(user_ids)).values_list(
            "uid", flat=True
        )
    )


def next_milestone_for(user) -> tuple[Milestone, str] | None:
    """The closest milestone `user` has not reached yet and what it takes, or None when none is left.

    In an exclusive track only the tier just above the one held counts; across tracks the smallest
    relative gap wins (rank 14 → Top 10 is closer than 400 → 1 000 points).
    """
    standings: dict[str, Standing | None] = {}

    def standing_in(period: str) -> Standing | None:
        if period not in standings:
            entry = leaderboard_selectors.entry_for(user, period=period)
            standings[period] = Standing(entry.rank, entry.score) if entry is not None else None
        return standings[period]

    candidates: list[Milestone] = []
    for track in MilestoneTrack.objects.prefetch_related("milestones"):
        milestones = sorted(track.milestones.all(), key=lambda m: (_rule(m).strictness(), m.position, m.id))
        unreached = [m for m in milestones if not _rule(m).reached(standing_in(m.period))]
        if track.exclusive:
            reached_index = next((i for i, m in enumerate(milestones) if m not in unreached), len(milestones))
            better = milestones[:reached_index]
            candidates.extend(better[-1:])
        else:
            candidates.extend(unreached)
    if not candidates:
        return None
    gaps = [(_gap(m, standing_in(m.period)), i, m) for i, m in enumerate(candidates)]
    (_, needed), _, milestone = min(gaps, key=lambda g: (g[0][0], g[1]))
    return milestone, needed


def _gap(milestone: Milestone, standing: Standing | None) -> tuple[float, str]:
    when = "" if milestone.period == "all" else f" this {milestone.period}"
    if milestone.max_rank is not None:
        if standing is None:
            return 1.0, f"get ranked{when} and reach rank {milestone.max_rank}"
        gap = (standing.rank - milestone.max_rank) / standing.rank
        return gap, f"reach rank {milestone.max_rank}{when} (you are #{standing.rank})"
    min_score = _rule(milestone).score_threshold
    missing = min_score - (standing.score if standing is not None else 0)
    return missing / max(min_score, 1), f"{missing} more points{when}"


def run_counts_by_status(*, since: datetime) -> dict[str, int]:
    """Role sync runs created after `since`, counted by status."""
    rows = (
        RoleSyncRun.objects.filter(created_at__gt=since)
        .values("status")
        .annotate(count=Count("id"))
        .order_by()
    )
    return {row["status"]: row["count"] for row in rows}


def last_finished_run() -> RoleSyncRun | None:
    """The role sync run that finished last, or None when none has finished."""
    return RoleSyncRun.objects.filter(finished_at__isnull=False).order_by("-finished_at").first()

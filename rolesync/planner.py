"""The diff at the heart of role sync: which managed roles each member should gain or lose.

Pure functions over plain data (no database, no HTTP) so that planning 100 000 members stays well
under a second and every rule is unit-testable. The service feeds it the milestones, the latest
leaderboard standings, the linked accounts and the guild's members, then applies what it returns.

Rules:
- A role is *managed* when a milestone names it; no other role is ever added or removed.
- A linked, eligible member should hold, per track, the roles of the milestones they reach: every
  one in a cumulative track, only the best one in an exclusive track.
- "Best" in an exclusive track: rank milestones beat score milestones; among rank milestones the
  smallest `max_rank` wins, among score milestones the highest `min_score` (ties: listed first wins).
- A guild member who is not linked (or whose user is deactivated) should hold no managed role.
- An excluded member is never touched.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple


class Standing(NamedTuple):
    rank: int
    score: int


@dataclass(frozen=True, slots=True)
class MilestoneRule:
    name: str
    role_id: str
    period: str
    max_rank: int | None = None
    min_score: int | None = None

    def reached(self, standing: Standing | None) -> bool:
        if standing is None:
            return False
        if self.max_rank is not None:
            return standing.rank <= self.max_rank
        return standing.score >= self.score_threshold

    def strictness(self) -> tuple[int, int]:
        """Sort key, best first: rank rules (smallest rank) before score rules (highest score)."""
        if self.max_rank is not None:
            return (0, self.max_rank)
        return (1, -self.score_threshold)

    @property
    def score_threshold(self) -> int:
        """`min_score` of a score rule (a rule without `max_rank`), which always has one."""
        if self.min_score is None:
            raise TypeError(f"milestone {self.name!r} has neither max_rank nor min_score")
        return self.min_score


@dataclass(frozen=True, slots=True)
class TrackRule:
    name: str
    exclusive: bool
    milestones: tuple[MilestoneRule, ...]

    @classmethod
    def build(cls, *, name: str, exclusive: bool, milestones: Iterable[MilestoneRule]) -> "TrackRule":
        # sorted() is stable, so equal rules keep the order the admin listed them in.
        ordered = sorted(milestones, key=MilestoneRule.strictness) if exclusive else tuple(milestones)
        return cls(name=name, exclusive=exclusive, milestones=tuple(ordered))


class GuildMember(NamedTuple):
    discord_id: str
    role_ids: frozenset[str] | set[str] | list[str]
    name: str = ""


class LinkedUser(NamedTuple):
    user_id: int
    name: str


@dataclass(frozen=True, slots=True)
class RoleChange:
    discord_id: str
    role_id: str
    add: bool
    user_id: int | None
    member_name: str

    @property
    def key(self) -> tuple[str, str, bool]:
        return (self.discord_id, self.role_id, self.add)


@dataclass
class Plan:
    changes: list[RoleChange] = field(default_factory=list)
    members_checked: int = 0
    # Members the sync has a say about: linked and eligible, or holding a managed role.
    members_in_scope: int = 0
    members_changed: int = 0


def managed_role_ids(tracks: Iterable[TrackRule]) -> frozenset[str]:
    return frozenset(m.role_id for track in tracks for m in track.milestones)


def desired_roles(
    user_id: int, *, tracks: Iterable[TrackRule], standings: Mapping[str, Mapping[int, Standing]]
) -> frozenset[str]:
    """The managed roles `user_id` has earned, from their standing in each milestone's period."""
    roles = []
    for track in tracks:
        for milestone in track.milestones:
            period_standings = standings.get(milestone.period)
            if milestone.reached(period_standings.get(user_id) if period_standings else None):
                roles.append(milestone.role_id)
                if track.exclusive:
                    break
    return frozenset(roles)


def plan_changes(
    *,
    tracks: list[TrackRule],
    standings: Mapping[str, Mapping[int, Standing]],
    linked: Mapping[str, LinkedUser],
    untouchable: Iterable[str] = (),
    members: Iterable[GuildMember],
) -> Plan:
    """Every managed role to add or remove so that each member holds exactly what they earned.

    `linked` maps Discord ids to eligible users (active, linked, not excluded); `untouchable` holds
    the Discord ids of excluded members, whose roles are left as they are.
    """
    managed = managed_role_ids(tracks)
    untouchable = frozenset(untouchable)
    plan = Plan()
    empty: frozenset[str] = frozenset()
    for member in members:
        plan.members_checked += 1
        if member.discord_id in untouchable:
            continue
        held = managed.intersection(member.role_ids)
        account = linked.get(member.discord_id)
        if account is None:
            wanted = empty
            name = member.name
        else:
            wanted = desired_roles(account.user_id, tracks=tracks, standings=standings)
            name = account.name
        if account is None and not held:
            continue
        plan.members_in_scope += 1
        if held == wanted:
            continue
        plan.members_changed += 1
        user_id = account.user_id if account else None
        # Removals first: in an exclusive track the old tier goes before the new one arrives.
        for role_id in sorted(held - wanted):
            plan.changes.append(RoleChange(member.discord_id, role_id, False, user_id, name))
        for role_id in sorted(wanted - held):
            plan.changes.append(RoleChange(member.discord_id, role_id, True, user_id, name))
    return plan


def exceeds_brake(plan: Plan, *, share: float, min_changes: int) -> bool:
    """True when the plan changes too many members at once to apply without a human look."""
    if len(plan.changes) < min_changes:
        return False
    return plan.members_changed > share * max(plan.members_in_scope, 1)

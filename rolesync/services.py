"""Writes of role sync: queue a run, plan it, apply only the difference, hold it at the brake, confirm.

A run never trusts what an earlier run did: it reads the guild's members (one call per 1 000), plans
desired-vs-held managed roles from scratch and applies the difference. So a run that crashed halfway
is finished by the next one, which finds the changes already made and makes only the rest.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.services import record_audit_event
from dealscale.queueing import enqueue_on_commit
from discord_rest.client import (
    DiscordClient,
    DiscordError,
    DiscordForbidden,
    DiscordNotFound,
    DiscordRateLimited,
    DiscordServerError,
)
from rolesync import planner, selectors
from rolesync.configuration import parse_configuration
from rolesync.models import Milestone, MilestoneTrack, RoleSyncRun, SyncExclusion

logger = structlog.get_logger(__name__)

# A run still "running" after this long lost its worker: the task's hard time limit is 280 s.
ABANDONED_AFTER = timedelta(seconds=300)
# A queued run that never started (its worker never picked it up) is closed after this long.
NEVER_STARTED_AFTER = timedelta(hours=1)
PROGRESS_EVERY = 25
# Discord's JSON error codes that tell one 404 from another.
UNKNOWN_MEMBER = 10007
UNKNOWN_ROLE = 10011


class RunNotAwaitingConfirmation(Exception):
    """Only a run held by the safety brake can be confirmed."""


@dataclass
class PreparedPlan:
    """A plan with what the apply step needs: role names and roles the bot cannot assign."""

    plan: planner.Plan
    role_names: dict[str, str]
    # role id → why the bot cannot assign it (missing, managed, above the bot's top role)
    unassignable: dict[str, str] = field(default_factory=dict)

    def describe(self, change: planner.RoleChange) -> str:
        verb = "gains" if change.add else "loses"
        sign = "+" if change.add else "-"
        role = self.role_names.get(change.role_id, change.role_id)
        return f'{sign} {change.member_name} ({change.discord_id}) {verb} "{role}"'


def queue_run(
    *,
    trigger: str,
    source: str,
    requested_by=None,
    user_ids: Iterable[int] = (),
    discord_ids: Iterable[str] = (),
) -> RoleSyncRun:
    """Record a run and hand it to a worker once the transaction commits."""
    run = RoleSyncRun.objects.create(
        trigger=trigger,
        requested_by=requested_by,
        target_user_ids=sorted(set(user_ids)),
        target_discord_ids=sorted({str(d) for d in discord_ids}),
    )
    record_audit_event(
        actor=requested_by,
        action="role_sync.requested",
        source=source,
        target=run,
        data={"trigger": trigger, "user_ids": run.target_user_ids, "discord_ids": run.target_discord_ids},
    )
    enqueue_on_commit(
        "discordbot.tasks.sync_roles", run_id=run.pk, on_failure=lambda exc: _mark_unqueued(run.pk, exc)
    )
    return run


def _mark_unqueued(run_id: int, exc: Exception) -> None:
    # Without this the run would read "queued" forever in the admin and the API.
    RoleSyncRun.objects.filter(pk=run_id, status=RoleSyncRun.Status.QUEUED).update(
        status=RoleSyncRun.Status.FAILED,
        finished_at=timezone.now(),
        errors=[
            {"error": "could not be queued: the task broker is unreachable", "detail": type(exc).__name__}
        ],
    )


def create_targeted_run(
    *, trigger: str, user_ids: Iterable[int] = (), discord_ids: Iterable[str] = ()
) -> RoleSyncRun:
    """Record a run for a few members (after a link, unlink or deactivation); the caller executes it."""
    return RoleSyncRun.objects.create(
        trigger=trigger,
        target_user_ids=sorted(set(user_ids)),
        target_discord_ids=sorted({str(d) for d in discord_ids}),
    )


def create_full_run(*, trigger: str = RoleSyncRun.Trigger.SCHEDULE) -> RoleSyncRun:
    """Record a whole-guild run (a beat tick, a milestone change); the caller executes it."""
    return RoleSyncRun.objects.create(trigger=trigger)


def discord_client() -> DiscordClient:
    """The bot's Discord client, through the shared rate-limit governor."""
    return DiscordClient()


def prepare_plan(
    *, client: DiscordClient, user_ids: Iterable[int] | None = None, discord_ids: Iterable[str] | None = None
) -> PreparedPlan:
    """Read the guild and the database and plan every managed-role change (no mutating call).

    With neither `user_ids` nor `discord_ids` it plans the whole guild, else only those members.
    """
    guild_id = settings.DISCORD_GUILD_ID
    tracks = selectors.milestone_tracks()
    names = selectors.role_names()
    if not tracks:
        return PreparedPlan(plan=planner.Plan(), role_names=names)
    targeted = user_ids is not None or discord_ids is not None
    if targeted:
        target_ids = set(selectors.discord_ids_of(user_ids or [])) | {str(d) for d in discord_ids or []}
        membership = selectors.membership(user_ids=user_ids or [], discord_ids=target_ids)
        members = _fetch_members(client, guild_id, target_ids)
    else:
        membership = selectors.membership()
        members = _iter_members(client, guild_id)
    standings = selectors.standings_by_period({m.period for t in tracks for m in t.milestones})
    plan = planner.plan_changes(
        tracks=tracks,
        standings=standings,
        linked=membership.linked,
        untouchable=membership.untouchable,
        members=members,
    )
    prepared = PreparedPlan(plan=plan, role_names=names)
    if plan.changes:
        # Only a run with something to do pays for the three reads of the hierarchy check.
        prepared.unassignable = _unassignable_roles(
            client, guild_id, {c.role_id for c in plan.changes}, names=names
        )
    return prepared


def _iter_members(client: DiscordClient, guild_id: str) -> Iterator[planner.GuildMember]:
    for member in client.iter_guild_members(guild_id, page_size=1000):
        user = member["user"]
        yield planner.GuildMember(user["id"], member["roles"], user.get("username", ""))


def _fetch_members(
    client: DiscordClient, guild_id: str, discord_ids: Iterable[str]
) -> list[planner.GuildMember]:
    members = []
    for discord_id in sorted(discord_ids):
        try:
            member = client.get_guild_member(guild_id, discord_id)
        except DiscordNotFound as exc:
            if exc.code != UNKNOWN_MEMBER:
                raise  # an unknown guild is a broken configuration, not a member who left
            continue  # not in the guild: there is no role to give or take
        members.append(planner.GuildMember(discord_id, member["roles"], member["user"].get("username", "")))
    return members


def _unassignable_roles(
    client: DiscordClient, guild_id: str, role_ids: set[str], *, names: dict[str, str]
) -> dict[str, str]:
    """Why each of `role_ids` cannot be assigned by the bot, checked once before any change."""
    roles = {role["id"]: role for role in client.get_guild_roles(guild_id)}
    bot_member = client.get_guild_member(guild_id, client.get_current_user()["id"])
    bot_top = max((roles[r]["position"] for r in bot_member["roles"] if r in roles), default=0)
    problems = {}
    for role_id in role_ids:
        role = roles.get(role_id)
        label = names.get(role_id, role_id)
        if role is None:
            problems[role_id] = (
                f'The role of milestone "{label}" ({role_id}) does not exist in the server: '
                "fix its Discord role id in the admin."
            )
        elif role["managed"]:
            problems[role_id] = (
                f'"{role["name"]}" ({role_id}) is managed by an integration and cannot be assigned: '
                "pick another role for the milestone."
            )
        elif role["position"] >= bot_top:
            problems[role_id] = (
                f'The bot cannot assign "{role["name"]}" ({role_id}): move the DealScale bot\'s role above '
                f'"{role["name"]}" in Server Settings → Roles.'
            )
    return problems


def execute_run(*, run_id: int, client: DiscordClient | None = None) -> RoleSyncRun:
    """Plan and apply one recorded run; a run that is not queued any more is left as it is.

    A plan over the safety brake is stored and the run waits for staff (`confirm_run`).
    """
    started = RoleSyncRun.objects.filter(pk=run_id, status=RoleSyncRun.Status.QUEUED).update(
        status=RoleSyncRun.Status.RUNNING, started_at=timezone.now()
    )
    run = RoleSyncRun.objects.get(pk=run_id)
    if not started:
        return run
    began = time.monotonic()
    if not selectors.role_sync_enabled():
        return _finish(run, status=RoleSyncRun.Status.PAUSED, began=began)
    if not run.is_targeted:
        _close_abandoned_runs()
    progress = _Progress(run=run, client=client or discord_client())
    try:
        status = _plan_and_apply(run, progress=progress)
    except BaseException:
        # A crash or a time limit: record what was done and let it propagate; the next run plans
        # again from what the guild really holds and finishes the job.
        progress.error("interrupted", "The run stopped before the end; the next run finishes the job.")
        _finish(run, status=RoleSyncRun.Status.INTERRUPTED, began=began, progress=progress)
        raise
    return _finish(run, status=status, began=began, progress=progress)


def _plan_and_apply(run: RoleSyncRun, *, progress: _Progress) -> str:
    if not settings.DISCORD_GUILD_ID:
        progress.error("not_configured", "DISCORD_GUILD_ID is not set: there is no guild to sync.")
        return RoleSyncRun.Status.FAILED
    targets = (
        {"user_ids": run.target_user_ids, "discord_ids": run.target_discord_ids} if run.is_targeted else {}
    )
    try:
        prepared = prepare_plan(client=progress.client, **targets)
    except DiscordError as exc:
        # Without a complete read of the guild there is no trustworthy diff: change nothing this time.
        progress.error(
            "guild_unreadable", f"Could not read the guild from Discord ({exc}); nothing was changed."
        )
        return RoleSyncRun.Status.FAILED
    plan, changes = prepared.plan, prepared.plan.changes
    run.members_checked = plan.members_checked
    if run.confirmation_of_id is not None:
        changes = _still_approved(changes, approved=run.confirmation_of.plan, progress=progress)
    elif planner.exceeds_brake(
        plan, share=settings.ROLE_SYNC_BRAKE_SHARE, min_changes=settings.ROLE_SYNC_BRAKE_MIN_CHANGES
    ):
        _record_plan(run, changes, prepared)
        progress.error(
            "safety_brake",
            (
                f"{plan.members_changed} of {plan.members_in_scope} members ({len(changes)} role changes) "
                "would "
                f"change, over the {settings.ROLE_SYNC_BRAKE_SHARE:.0%} safety brake: nothing was applied. "
                "Check the plan and use “Confirm and apply” if it is right."
            ),
        )
        logger.warning("role_sync_held_at_brake", run_id=run.pk, changes=len(changes))
        return RoleSyncRun.Status.AWAITING_CONFIRMATION
    _record_plan(run, changes, prepared)
    progress.save_plan()
    completed = _apply(changes, prepared=prepared, progress=progress)
    return RoleSyncRun.Status.SUCCEEDED if completed and not run.failed else RoleSyncRun.Status.PARTIAL


def _record_plan(run: RoleSyncRun, changes: list[planner.RoleChange], prepared: PreparedPlan) -> None:
    run.planned = len(changes)
    run.plan = [_plan_entry(c, prepared) for c in changes]


def _still_approved(changes, *, approved: list[dict], progress: _Progress) -> list[planner.RoleChange]:
    """The fresh plan's changes that staff approved: nothing unseen, nothing no longer true, is applied."""
    approved_keys = {(e["discord_id"], e["role_id"], e["action"] == "add") for e in approved}
    kept = [c for c in changes if c.key in approved_keys]
    for _ in range(len(changes) - len(kept)):
        progress.error(
            "not_confirmed", "Changes that were not in the confirmed plan were left to the next run."
        )
    return kept


def _plan_entry(change: planner.RoleChange, prepared: PreparedPlan) -> dict:
    return {
        "user_id": change.user_id,
        "discord_id": change.discord_id,
        "member": change.member_name,
        "role_id": change.role_id,
        "role": prepared.role_names.get(change.role_id, change.role_id),
        "action": "add" if change.add else "remove",
    }


class RateLimitCounter:
    """Counts the 429 answers one client receives (a requests response hook), for the run's record."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, response, *args, **kwargs):
        if response.status_code == 429:
            self.count += 1
        return response

    @classmethod
    def attach(cls, client: DiscordClient) -> RateLimitCounter:
        counter = cls()
        client.session.hooks["response"].append(counter)
        return counter


class _Progress:
    """Counters of a run, written to its row as the apply goes so a crash leaves an honest record."""

    def __init__(self, *, run: RoleSyncRun, client: DiscordClient):
        self.run = run
        self.client = client
        self.rate_limits = RateLimitCounter.attach(client)
        self._errors: dict[tuple, dict] = {(e["kind"], e.get("role_id", "")): e for e in run.errors}

    def error(self, kind: str, message: str, *, role_id: str = "") -> None:
        key = (kind, role_id)
        entry = self._errors.get(key)
        if entry is None:
            entry = {"kind": kind, "message": message}
            if role_id:
                entry["role_id"] = role_id
            self._errors[key] = entry
        entry["count"] = entry.get("count", 0) + 1

    def sync_fields(self) -> None:
        self.run.errors = list(self._errors.values())
        self.run.rate_limited_count = self.rate_limits.count

    def save_plan(self) -> None:
        self.sync_fields()
        self.run.save(update_fields=["members_checked", "planned", "plan", "errors"])

    def save(self) -> None:
        self.sync_fields()
        self.run.save(update_fields=["applied", "failed", "skipped", "rate_limited_count", "errors"])


def _apply(changes: list[planner.RoleChange], *, prepared: PreparedPlan, progress: _Progress) -> bool:
    """Make each change with one PUT or DELETE; problems are counted and reported once, never stormed.

    Returns False when a long rate limit stopped it before the end.
    """
    run = progress.run
    broken = dict(prepared.unassignable)
    for role_id, message in broken.items():
        logger.warning("role_sync_role_unassignable", role_id=role_id, message=message)
    departed: set[str] = set()
    for done, change in enumerate(changes, start=1):
        if change.role_id in broken:
            run.skipped += 1
            progress.error("role_unassignable", broken[change.role_id], role_id=change.role_id)
        elif change.discord_id in departed:
            run.skipped += 1
        else:
            try:
                _apply_one(change, prepared=prepared, progress=progress, broken=broken, departed=departed)
            except DiscordRateLimited as exc:
                # Waiting longer than the governor allows (or the invalid-request ceiling): stop
                # here, the next run picks up the rest.
                run.skipped += len(changes) - done + 1
                progress.error(
                    "rate_limited",
                    f"Discord asked to wait {exc.retry_after:.0f} s; "
                    "the remaining changes are left to the next run.",
                )
                return False
        if done % PROGRESS_EVERY == 0:
            progress.save()
    return True


def _apply_one(
    change: planner.RoleChange, *, prepared: PreparedPlan, progress: _Progress, broken: dict, departed: set
) -> None:
    run, client, guild_id = progress.run, progress.client, settings.DISCORD_GUILD_ID
    role_name = prepared.role_names.get(change.role_id, change.role_id)
    reason = (
        f"{settings.ROLE_SYNC_AUDIT_REASON} #{run.pk}: "
        f"{'reached' if change.add else 'no longer holds'} {role_name}"
    )
    try:
        if change.add:
            client.add_member_role(guild_id, change.discord_id, change.role_id, reason=reason)
        else:
            client.remove_member_role(guild_id, change.discord_id, change.role_id, reason=reason)
    except DiscordForbidden:
        # Missing Manage Roles or a role above the bot: every later call for this role would be
        # another 403 towards Discord's invalid-request ban, so the role is set aside for the run.
        broken[change.role_id] = (
            f'Discord refused to change "{role_name}" ({change.role_id}): give the DealScale bot the Manage '
            f'Roles permission and move its role above "{role_name}" in Server Settings → Roles.'
        )
        run.failed += 1
        progress.error("forbidden", broken[change.role_id], role_id=change.role_id)
    except DiscordNotFound as exc:
        if exc.code == UNKNOWN_ROLE:
            broken[change.role_id] = (
                f'The role of milestone "{role_name}" ({change.role_id}) was deleted from the server: '
                "fix its Discord role id in the admin."
            )
            run.failed += 1
            progress.error("unknown_role", broken[change.role_id], role_id=change.role_id)
        else:
            departed.add(change.discord_id)
            run.skipped += 1
            progress.error("member_left", "Members who left the server were skipped.")
    except DiscordServerError as exc:
        run.failed += 1
        progress.error("server_error", f"Discord kept failing after retries ({exc}); the next run retries.")
    else:
        run.applied += 1


def _finish(run: RoleSyncRun, *, status: str, began: float, progress: _Progress | None = None) -> RoleSyncRun:
    if progress is not None:
        progress.sync_fields()
    run.status = status
    run.finished_at = timezone.now()
    run.duration_ms = int((time.monotonic() - began) * 1000)
    run.save()
    record_audit_event(
        actor=None,
        action="role_sync.run_finished",
        source=AuditEvent.Source.SYSTEM,
        target=run,
        data={
            "trigger": run.trigger,
            "status": run.status,
            "planned": run.planned,
            "applied": run.applied,
            "failed": run.failed,
            "skipped": run.skipped,
            "rate_limited": run.rate_limited_count,
            "duration_ms": run.duration_ms,
        },
    )
    logger.info(
        "role_sync_finished",
        run_id=run.pk,
        status=run.status,
        planned=run.planned,
        applied=run.applied,
        failed=run.failed,
        skipped=run.skipped,
    )
    return run


def _close_abandoned_runs() -> None:
    now = timezone.now()
    RoleSyncRun.objects.filter(
        status=RoleSyncRun.Status.RUNNING, started_at__lt=now - ABANDONED_AFTER
    ).update(status=RoleSyncRun.Status.INTERRUPTED, finished_at=now)
    RoleSyncRun.objects.filter(
        status=RoleSyncRun.Status.QUEUED, created_at__lt=now - NEVER_STARTED_AFTER
    ).update(status=RoleSyncRun.Status.INTERRUPTED, finished_at=now)


@transaction.atomic
def confirm_run(*, run_id: int, actor, source: str) -> RoleSyncRun:
    """Approve a run held by the brake: a follow-up run re-plans and applies what is still approved.

    Raises RunNotAwaitingConfirmation.
    """
    run = RoleSyncRun.objects.select_for_update().filter(pk=run_id).first()
    if run is None or run.status != RoleSyncRun.Status.AWAITING_CONFIRMATION:
        raise RunNotAwaitingConfirmation(f"Role sync #{run_id} is not waiting for a confirmation.")
    run.status = RoleSyncRun.Status.CONFIRMED
    run.save(update_fields=["status"])
    follow_up = queue_run(
        trigger=RoleSyncRun.Trigger.CONFIRMATION,
        source=source,
        requested_by=actor,
        user_ids=run.target_user_ids,
        discord_ids=run.target_discord_ids,
    )
    follow_up.confirmation_of = run
    follow_up.save(update_fields=["confirmation_of"])
    record_audit_event(
        actor=actor,
        action="role_sync.confirmed",
        source=source,
        target=run,
        data={"follow_up_run_id": follow_up.pk, "planned": run.planned},
    )
    return follow_up


@transaction.atomic
def import_milestones(*, data, actor, source: str) -> list[MilestoneTrack]:
    """Replace the whole milestone configuration with `data` (the export format), all or nothing.

    Raises InvalidConfiguration listing every error; nothing is changed then. A full sync follows
    the commit so that the guild matches the new configuration.
    """
    specs = parse_configuration(data)
    # Deleting first frees the unique role ids and track names that the new rows may reuse.
    Milestone.objects.all().delete()
    MilestoneTrack.objects.all().delete()
    tracks = []
    for position, spec in enumerate(specs):
        track = MilestoneTrack.objects.create(name=spec.name, exclusive=spec.exclusive, position=position)
        Milestone.objects.bulk_create(
            Milestone(
                track=track,
                name=m.name,
                discord_role_id=m.discord_role_id,
                period=m.period,
                max_rank=m.max_rank,
                min_score=m.min_score,
                position=index,
            )
            for index, m in enumerate(spec.milestones)
        )
        tracks.append(track)
    record_audit_event(
        actor=actor,
        action="role_sync.milestones_imported",
        source=source,
        data={"tracks": len(specs), "milestones": sum(len(s.milestones) for s in specs)},
    )
    queue_full_sync(trigger=RoleSyncRun.Trigger.MILESTONE_CHANGE)
    return tracks


def queue_full_sync(*, trigger: str) -> None:
    """Ask a worker for a whole-guild run once the transaction commits (skipped if one is running)."""
    enqueue_on_commit("discordbot.tasks.sync_roles", trigger=trigger)


def milestones_changed(*, actor, source: str, target: MilestoneTrack | None) -> None:
    """Audit a change of milestones made by staff and resync the guild once it commits."""
    record_audit_event(
        actor=actor,
        action="role_sync.milestones_changed",
        source=source,
        target=target,
        data={"tracks": MilestoneTrack.objects.count(), "milestones": Milestone.objects.count()},
    )
    queue_full_sync(trigger=RoleSyncRun.Trigger.MILESTONE_CHANGE)


def guild_warnings(*, role_ids: Iterable[str], client: DiscordClient | None = None) -> list[str]:
    """What would stop the bot from assigning these roles, checked against the guild now.

    Discord being unreachable is itself a warning, never an error: staff can still save.
    """
    role_ids = set(role_ids)
    if not role_ids:
        return []
    try:
        problems = _unassignable_roles(
            client or discord_client(), settings.DISCORD_GUILD_ID, role_ids, names=selectors.role_names()
        )
    except DiscordError as exc:
        return [
            f"Could not check the roles against the Discord server ({exc}); "
            "the next sync reports any problem."
        ]
    return sorted(problems.values())


def record_exclusion_change(*, exclusion: SyncExclusion, actor, change: str, source: str) -> None:
    """Audit an exclusion "added", "changed" or "removed": it takes a member out of every sync."""
    record_audit_event(
        actor=actor,
        action=f"role_sync.exclusion_{change}",
        source=source,
        target=exclusion,
        data={"user_id": exclusion.user_id, "reason": exclusion.reason},
    )

"""Writes of role sync: queue a run, execute it, confirm one held at the brake; change the milestones.

A run never trusts what an earlier run did: it reads the guild's members (one call per 1 000), plans
desired-vs-held managed roles from scratch and applies the difference. So a run that crashed halfway
is finished by the next one, which finds the changes already made and makes only the rest.

This module is the run's lifecycle and the one place doors call; the jobs inside a run are its helpers:
`guild.py` reads Discord, `planner.py` plans, `apply.py` holds at the brake or applies,
`configuration.py` reads and writes the milestones file.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import timedelta

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.services import record_audit_event
from dealscale import outbox
from discord_rest.client import DiscordClient, DiscordError
from rolesync import guild, planner, selectors
from rolesync.apply import PreparedPlan, Progress, apply_plan
from rolesync.configuration import parse_configuration, replace_milestones
from rolesync.errors import RunNotAwaitingConfirmation
from rolesync.models import Milestone, MilestoneTrack, RoleSyncRun, SyncExclusion

logger = structlog.get_logger(__name__)

# A run still "running" after this long lost its worker: the task's hard time limit is 280 s.
ABANDONED_AFTER = timedelta(seconds=300)
# A queued run that never started (its worker never picked it up) is closed after this long.
NEVER_STARTED_AFTER = timedelta(hours=1)

# The outbox entries of role sync (handled in rolesync/deliveries.py): a recorded run to execute, the
# few members of a link, unlink or deactivation, and a whole-guild run after a milestone change.
RUN = "rolesync.run"
SYNC_MEMBERS = "rolesync.sync_members"
FULL_SYNC = "rolesync.full_sync"


def queue_run(
    *,
    trigger: str,
    source: str,
    actor=None,
    user_ids: Iterable[int] = (),
    discord_ids: Iterable[str] = (),
) -> RoleSyncRun:
    """Record a run and its outbox entry in one transaction; a worker executes it after the commit."""
    with transaction.atomic():
        run = RoleSyncRun.objects.create(
            trigger=trigger,
            requested_by=actor,
            target_user_ids=sorted(set(user_ids)),
            target_discord_ids=sorted({str(d) for d in discord_ids}),
        )
        record_audit_event(
            actor=actor,
            action="role_sync.requested",
            source=source,
            target=run,
            data={"trigger": trigger, "user_ids": run.target_user_ids, "discord_ids": run.target_discord_ids},
        )
        outbox.add(RUN, {"run_id": run.pk}, key=f"role_sync_run:{run.pk}")
    return run


def queue_member_sync(*, trigger: str, user_ids: Iterable[int], discord_ids: Iterable[str]) -> None:
    """Ask for a sync of a few members (after a link, unlink or deactivation) in the current transaction."""
    outbox.add(
        SYNC_MEMBERS,
        {
            "trigger": trigger,
            "user_ids": sorted(set(user_ids)),
            "discord_ids": sorted({str(d) for d in discord_ids}),
        },
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


def prepare_plan(
    *,
    client: DiscordClient | None = None,
    user_ids: Iterable[int] | None = None,
    discord_ids: Iterable[str] | None = None,
) -> PreparedPlan:
    """Read the guild and the database and plan every managed-role change (no mutating call).

    With neither `user_ids` nor `discord_ids` it plans the whole guild, else only those members.
    Raises DiscordError when the guild cannot be read.
    """
    client = client or guild.discord_client()
    guild_id = settings.DISCORD_GUILD_ID
    tracks = selectors.milestone_tracks()
    names = selectors.role_names()
    if not tracks:
        return PreparedPlan(plan=planner.Plan(), role_names=names)
    targeted = user_ids is not None or discord_ids is not None
    if targeted:
        target_ids = set(selectors.discord_ids_of(user_ids or [])) | {str(d) for d in discord_ids or []}
        membership = selectors.membership(user_ids=user_ids or [], discord_ids=target_ids)
        members: Iterable[planner.GuildMember] = guild.fetch_members(client, guild_id, target_ids)
    else:
        membership = selectors.membership()
        members = guild.iter_members(client, guild_id)
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
        prepared.unassignable = guild.unassignable_roles(
            client, guild_id, {c.role_id for c in plan.changes}, names=names
        )
    return prepared


def execute_queued_run(*, run_id: int) -> RoleSyncRun:
    """Execute a run recorded by queue_run; returns the run that did the work.

    A run an earlier worker started and lost (still "running", or closed as never started) is not
    trusted: a follow-up run of the same scope plans again and finishes the job. The caller holds the
    role-sync lock, so no live worker is executing it.
    """
    run = RoleSyncRun.objects.get(pk=run_id)
    lost = run.status == RoleSyncRun.Status.RUNNING or (
        run.status == RoleSyncRun.Status.INTERRUPTED and run.started_at is None
    )
    if lost:
        RoleSyncRun.objects.filter(pk=run.pk, status=RoleSyncRun.Status.RUNNING).update(
            status=RoleSyncRun.Status.INTERRUPTED, finished_at=timezone.now()
        )
        run = RoleSyncRun.objects.create(
            trigger=run.trigger,
            requested_by=run.requested_by,
            target_user_ids=run.target_user_ids,
            target_discord_ids=run.target_discord_ids,
            confirmation_of=run.confirmation_of,
        )
    return execute_run(run_id=run.pk)


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
    progress = Progress(run=run, client=client or guild.discord_client())
    try:
        status = _plan_and_apply(run, progress=progress)
    except BaseException:
        # A crash or a time limit: record what was done and let it propagate; the next run plans
        # again from what the guild really holds and finishes the job.
        progress.error("interrupted", "The run stopped before the end; the next run finishes the job.")
        _finish(run, status=RoleSyncRun.Status.INTERRUPTED, began=began, progress=progress)
        raise
    return _finish(run, status=status, began=began, progress=progress)


def _plan_and_apply(run: RoleSyncRun, *, progress: Progress) -> str:
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
    return apply_plan(prepared, progress=progress)


def _finish(run: RoleSyncRun, *, status: str, began: float, progress: Progress | None = None) -> RoleSyncRun:
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
        actor=actor,
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
    tracks = replace_milestones(specs)
    record_audit_event(
        actor=actor,
        action="role_sync.milestones_imported",
        source=source,
        data={"tracks": len(specs), "milestones": sum(len(s.milestones) for s in specs)},
    )
    queue_full_sync(trigger=RoleSyncRun.Trigger.MILESTONE_CHANGE)
    return tracks


def queue_full_sync(*, trigger: str) -> None:
    """Ask for a whole-guild run in the current transaction; a worker runs it after the commit."""
    outbox.add(FULL_SYNC, {"trigger": trigger})


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
        problems = guild.unassignable_roles(
            client or guild.discord_client(),
            settings.DISCORD_GUILD_ID,
            role_ids,
            names=selectors.role_names(),
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

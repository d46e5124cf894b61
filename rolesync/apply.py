"""The apply engine of role sync: hold a plan at the safety brake, or make its changes one call each.

Internal to rolesync: `services.execute_run` reads the guild, plans, and hands the plan over here.
Discord's answers are handled per member and per role (a 403 sets the role aside, a member who left is
skipped), so one problem is counted and reported once instead of stormed at Discord.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog
from django.conf import settings

from discord_rest.client import (
    DiscordClient,
    DiscordForbidden,
    DiscordNotFound,
    DiscordRateLimited,
    DiscordServerError,
)
from rolesync import planner
from rolesync.models import RoleSyncRun

logger = structlog.get_logger(__name__)

PROGRESS_EVERY = 25
# Discord's JSON error code that tells a deleted role from a member who left (both 404).
UNKNOWN_ROLE = 10011


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


class Progress:
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


def apply_plan(prepared: PreparedPlan, *, progress: Progress) -> str:
    """Apply the plan of `progress.run`, or hold it at the safety brake; the run's new status.

    A confirmation run applies only the changes staff approved; any other run over the brake stores
    its plan and applies nothing.
    """
    run = progress.run
    plan, changes = prepared.plan, prepared.plan.changes
    run.members_checked = plan.members_checked
    confirmed = run.confirmation_of
    if confirmed is not None:
        changes = _still_approved(changes, approved=confirmed.plan, progress=progress)
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


def _still_approved(changes, *, approved: list[dict], progress: Progress) -> list[planner.RoleChange]:
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


def _apply(changes: list[planner.RoleChange], *, prepared: PreparedPlan, progress: Progress) -> bool:
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
    change: planner.RoleChange, *, prepared: PreparedPlan, progress: Progress, broken: dict, departed: set
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

"""`manage.py sync_roles [--dry-run] [--user ID]`: reconcile managed Discord roles now, or print the plan."""

from django.core.management.base import BaseCommand, CommandError

from dealscale.locks import single_flight
from rolesync import selectors, services
from rolesync.models import RoleSyncRun
from rolesync.tasks import ROLE_SYNC_LOCK


class Command(BaseCommand):
    help = (
        "Sync milestone roles with the Discord guild now. --dry-run prints who gains and loses which role "
        "and changes nothing; --user limits the run to some users."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Print the plan, change nothing.")
        parser.add_argument(
            "--user",
            type=int,
            action="append",
            dest="user_ids",
            metavar="ID",
            help="Only this user (DealScale user id); repeat for several.",
        )

    def handle(self, *args, dry_run: bool, user_ids: list[int] | None, **options):
        if not selectors.role_sync_enabled():
            raise CommandError(
                "Role sync is paused (ROLE_SYNC_ENABLED is off, or discord_integration is switched off)."
            )
        if user_ids and (unknown := selectors.unknown_user_ids(user_ids)):
            raise CommandError(f"No user with id {', '.join(map(str, unknown))}.")
        if dry_run:
            self._dry_run(user_ids)
            return
        if user_ids:
            run = services.create_targeted_run(trigger=RoleSyncRun.Trigger.COMMAND, user_ids=user_ids)
            run = services.execute_run(run_id=run.pk)
        else:
            # The same lock as the beat task: two whole-guild runs must never overlap.
            with single_flight(ROLE_SYNC_LOCK, ttl_seconds=290) as acquired:
                if not acquired:
                    raise CommandError("A role sync is running right now; try again in a few minutes.")
                run = services.execute_run(
                    run_id=services.create_full_run(trigger=RoleSyncRun.Trigger.COMMAND).pk
                )
        self.stdout.write(
            f"Role sync #{run.pk}: {run.status}. Planned {run.planned}, applied {run.applied}, "
            f"failed {run.failed}, skipped {run.skipped}, 429s {run.rate_limited_count}, "
            f"{run.duration_ms} ms."
        )
        for error in run.errors:
            self.stderr.write(f"! {error['message']}")
        if run.status == RoleSyncRun.Status.AWAITING_CONFIRMATION:
            self.stdout.write("Confirm it in the admin (Discord role sync → Role sync runs) to apply it.")

    def _dry_run(self, user_ids: list[int] | None) -> None:
        prepared = services.prepare_plan(user_ids=user_ids, discord_ids=[] if user_ids else None)
        plan = prepared.plan
        for change in plan.changes:
            self.stdout.write(prepared.describe(change))
        for message in prepared.unassignable.values():
            self.stderr.write(f"! {message}")
        gains = sum(1 for c in plan.changes if c.add)
        self.stdout.write(
            f"Dry run: {gains} role(s) to add and {len(plan.changes) - gains} to remove for "
            f"{plan.members_changed} member(s), {plan.members_checked} member(s) checked. "
            "Nothing was changed."
        )

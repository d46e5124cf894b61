"""`manage.py push_role_connections [--dry-run] [--user ID]`: push members' changed role connections now.

The same pass the worker runs after each recalculation, in the foreground: unchanged members get no
call. `--dry-run` prints what would be pushed and sends nothing. Exit code 1 when a push failed.
"""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from linkedroles import services


class Command(BaseCommand):
    help = "Push the Linked Roles metadata of every member whose values changed (or of one member)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Show what would be pushed; send nothing.")
        parser.add_argument("--user", type=int, metavar="ID", help="Only this user (their DealScale id).")

    def handle(self, *args, dry_run=False, user=None, **options):
        if user is not None and not User.objects.filter(pk=user).exists():
            raise CommandError(f"No user with id {user}.")
        report = services.push_changed(user_ids=None if user is None else [user], dry_run=dry_run)
        if report.paused:
            raise CommandError(
                "Linked Roles pushes are paused (LINKED_ROLES_ENABLED is off or the Discord integration "
                "is switched off): nothing was planned."
            )
        for push in report.plan if dry_run else []:
            values = ", ".join(f"{key}={value}" for key, value in sorted(push.metadata.items()))
            was = "never pushed" if push.previous_metadata is None else "changed"
            self.stdout.write(f"  user {push.user_id} ({push.platform_username}, {was}): {values}")
        verb = "would push" if dry_run else "pushed"
        done = report.planned if dry_run else report.pushed
        self.stdout.write(
            f"{report.planned} changed, {verb} {done}, {report.relink} need a relink, {report.rejected} refused "
            f"by Discord, {report.failed} failed (planned in {report.planning_seconds:.2f} s)."
        )
        for error in report.errors[:10]:
            self.stderr.write(f"  {error}")
        if report.failed:
            raise CommandError(
                f"{report.failed} pushes failed; they are retried by the next pass.", returncode=1
            )

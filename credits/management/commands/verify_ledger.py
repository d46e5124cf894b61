"""`manage.py verify_ledger`: prove every cached balance equals the sum of its ledger entries."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from credits import selectors


class Command(BaseCommand):
    help = (
        "Compare every member's cached credit balance with the sum of their ledger entries. "
        "Prints each drift and exits with status 1 if there is any."
    )

    def handle(self, *args, **options):
        drifts = selectors.ledger_drift()
        if not drifts:
            count = selectors.credit_account_count()
            self.stdout.write(self.style.SUCCESS(f"Ledger OK: {count} accounts verified"))
            return
        usernames = dict(
            User.objects.filter(pk__in=[d.user_id for d in drifts]).values_list("pk", "username")
        )
        for drift in drifts:
            who = f"user {drift.user_id} ({usernames.get(drift.user_id, '?')})"
            if drift.cached_balance is None:
                self.stderr.write(f"DRIFT {who}: ledger sum {drift.ledger_total} but no credit account")
            else:
                self.stderr.write(
                    f"DRIFT {who}: cached balance {drift.cached_balance} != ledger sum {drift.ledger_total} "
                    f"(off by {drift.cached_balance - drift.ledger_total:+d})"
                )
        raise CommandError(f"Ledger drift on {len(drifts)} account(s).", returncode=1)

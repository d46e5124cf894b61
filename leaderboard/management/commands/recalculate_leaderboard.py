"""Run the leaderboard recalculation now and print how long each period took."""

from time import perf_counter

from django.core.management.base import BaseCommand, CommandError

from dealscale.locks import single_flight
from leaderboard import services


class Command(BaseCommand):
    help = "Recalculate the leaderboard now (all periods) and print the timing of each."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="Recompute even the periods whose ledger did not change."
        )

    def handle(self, *args, force: bool, **options):
        started = perf_counter()
        # The same lock as the beat task: a manual run never overlaps a scheduled one.
        with single_flight("leaderboard-recalculate", ttl_seconds=29) as acquired:
            if not acquired:
                raise CommandError("A recalculation is already running; try again in a few seconds.")
            outcomes = services.recalculate_leaderboard(force=force)
        for outcome in outcomes:
            if outcome.skipped:
                self.stdout.write(f"{outcome.period:<6} skipped (no new event since the last run)")
            else:
                self.stdout.write(
                    f"{outcome.period:<6} {outcome.rows} ranked in {outcome.seconds * 1000:.1f} ms "
                    f"(generation {outcome.generation_id})"
                )
        self.stdout.write(self.style.SUCCESS(f"total  {(perf_counter() - started) * 1000:.1f} ms"))

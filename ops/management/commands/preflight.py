"""`python manage.py preflight [--json] [--fix-commands]`: the deployment checklist, checked live.

One line per item (passed, warning or failed, with the fix in one sentence), then exit 0 when every item
passed, 1 when some only warn, 2 when one failed. `--json` prints the same results as one JSON document.
Read-only towards Discord except `--fix-commands`, which registers the code's slash commands when the
registered ones are stale. Each run is stored for the health dashboard. The checks are in ops/preflight.py.
"""

import getpass
import json

from django.core.management.base import BaseCommand
from django.db import DatabaseError

from ops.preflight import Report, Status, run_preflight
from ops.services import record_preflight_run

MARKS = {Status.PASSED: "PASS", Status.WARNING: "WARN", Status.FAILED: "FAIL"}


class Command(BaseCommand):
    help = (
        "Check the deployment checklist against the live configuration and Discord; exits 0 (all passed), "
        "1 (warnings) or 2 (a failure)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the results as one JSON document.")
        parser.add_argument(
            "--fix-commands",
            action="store_true",
            help="Register the code's slash commands at Discord if the registered ones are stale.",
        )

    def handle(self, *args, **options):
        actor = getpass.getuser()
        report = run_preflight(fix_commands=options["fix_commands"], actor=actor)
        try:
            record_preflight_run(
                ran_at=report.ran_at,
                results=[result.as_dict() for result in report.results],
                fixed_commands=report.fixed_commands,
                actor=actor,
            )
        except DatabaseError as error:
            # The checklist already says what is wrong with the database; the run is still printed.
            self.stderr.write(f"This run could not be stored for the dashboard: {error}")
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
        else:
            self._print_checklist(report)
        if report.exit_code:
            raise SystemExit(report.exit_code)

    def _print_checklist(self, report: Report) -> None:
        styles = {
            Status.PASSED: self.style.SUCCESS,
            Status.WARNING: self.style.WARNING,
            Status.FAILED: self.style.ERROR,
        }
        self.stdout.write(f"Preflight, {report.ran_at:%Y-%m-%d %H:%M:%S} UTC")
        section = None
        for result in report.results:
            if result.section != section:
                section = result.section
                self.stdout.write(f"\n{section}")
            # No full stop after a bare detail: it may end with a value to copy, such as the redirect URI.
            fix = f". Fix: {result.fix}" if result.fix else ""
            mark = styles[result.status](MARKS[result.status])
            self.stdout.write(f"  {mark}  {result.label}: {result.detail}{fix}")
        self.stdout.write(
            f"\n{len(report.results)} checks: {report.count(Status.PASSED)} passed, "
            f"{report.count(Status.WARNING)} warning(s), {report.count(Status.FAILED)} failed."
        )

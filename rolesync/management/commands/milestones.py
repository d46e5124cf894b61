"""`manage.py milestones export FILE` / `milestones import FILE`: move milestones between environments."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.models import AuditEvent
from rolesync import selectors, services
from rolesync.errors import InvalidConfiguration


class Command(BaseCommand):
    help = (
        "Export the milestone tracks to a JSON file, or import one: import checks the whole file first, "
        "changes nothing if any entry is bad, and otherwise replaces the configuration."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["export", "import"])
        parser.add_argument(
            "file", help="JSON file to write (export) or read (import); '-' for stdout/stdin."
        )

    def handle(self, *args, action: str, file: str, **options):
        if action == "export":
            self._export(file)
        else:
            self._import(file)

    def _export(self, file: str) -> None:
        text = json.dumps(selectors.milestones_export(), indent=2, ensure_ascii=False) + "\n"
        if file == "-":
            self.stdout.write(text, ending="")
            return
        Path(file).write_text(text, encoding="utf-8")
        self.stderr.write(f"Exported the milestone configuration to {file}.")

    def _import(self, file: str) -> None:
        try:
            raw = self.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from None
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise CommandError(f"{file} is not valid JSON: {exc}. Nothing was changed.") from None
        try:
            tracks = services.import_milestones(data=data, actor=None, source=AuditEvent.Source.CLI)
        except InvalidConfiguration as exc:
            for error in exc.errors:
                self.stderr.write(error)
            raise CommandError(f"{len(exc.errors)} error(s) in {file}. Nothing was changed.") from None
        milestones = sum(track.milestones.count() for track in tracks)
        self.stdout.write(f"Imported {len(tracks)} track(s) and {milestones} milestone(s) from {file}.")

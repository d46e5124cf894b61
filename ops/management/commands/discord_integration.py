"""`python manage.py discord_integration on|off|status|rollout <percent>` — the ops kill switch."""

import getpass

from django.core.management.base import BaseCommand, CommandError

from accounts import discord_integration as flags
from dealscale.errors import DomainError


class Command(BaseCommand):
    help = (
        "Switch the Discord integration (web linking, bot commands, role sync) on, off, or to a "
        "percentage rollout of members, without a deploy; 'status' shows the current state."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{on,off,status,rollout}")
        sub.add_parser("on", help="Open the integration to every member.")
        sub.add_parser("off", help="Switch it off for everyone: the kill switch.")
        sub.add_parser("status", help="Print the current state.")
        rollout = sub.add_parser("rollout", help="Let in this percentage of members (0-100).")
        rollout.add_argument("percent", help="e.g. 10, 50 or 12.5; 100 is the same as 'on'.")

    def handle(self, *args, action: str, **options):
        try:
            if action == "status":
                state = flags.discord_integration_state()
                self.stdout.write(f"discord_integration: {state.describe()}")
                return
            percent = flags.parse_percent(options["percent"]) if action == "rollout" else None
            # The shell user who ran the command: the CLI has no signed-in actor.
            state = flags.set_discord_integration(mode=action, percent=percent, actor=getpass.getuser())
        except DomainError as error:
            raise CommandError(error.message) from error
        self.stdout.write(self.style.SUCCESS(f"discord_integration is now {state.describe()}"))
        self.stdout.write("Recorded in the audit log as flag.changed.")

"""`manage.py register_role_metadata [--force]`: register the Linked Roles metadata schema with Discord.

Like `deploy_commands`: the records are checked against Discord's rules first, and an unchanged schema
(the stored hash of the payload) is not sent at all.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from discord_rest.client import DiscordError
from linkedroles import services
from linkedroles.metadata import InvalidMetadata, MetadataType


class Command(BaseCommand):
    help = "Register DealScale's role-connection metadata (Linked Roles) with Discord when it changed."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="Register even if unchanged since last time."
        )

    def handle(self, *args, force=False, **options):
        if not settings.DISCORD_CLIENT_ID:
            raise CommandError("DISCORD_CLIENT_ID (the application id) is not set.")
        if not settings.DISCORD_BOT_TOKEN:
            raise CommandError("DISCORD_BOT_TOKEN is not set.")
        try:
            registration = services.register_metadata(force=force)
        except InvalidMetadata as error:
            raise CommandError(f"The metadata breaks Discord's rules, nothing was sent: {error}") from error
        except DiscordError as error:
            raise CommandError(f"Discord refused the metadata: {error}") from error
        if not registration.registered:
            self.stdout.write(
                f"Role-connection metadata unchanged since the last registration ({len(registration.records)} "
                "records): skipped. Use --force to register anyway."
            )
            return
        for record in registration.records:
            kind = MetadataType(record["type"]).name
            self.stdout.write(f"  {record['key']:<16} {kind:<31} {record['name']}")
        self.stdout.write(
            self.style.SUCCESS(f"Registered {len(registration.records)} role-connection metadata records.")
        )

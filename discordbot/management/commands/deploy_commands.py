"""`manage.py deploy_commands [--guild ID] [--force]`: register the bot's application commands with Discord.

One bulk overwrite (PUT) replaces the whole set, so there is never a moment without commands and no
delete-then-create burning the daily quota of command creates; an unchanged set is not sent at all.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from discord_rest.client import DiscordClient, DiscordError
from discordbot.commands_registry import command_payloads, payload_hash, register_commands, scope_for
from discordbot.selectors import registered_command_hash


class Command(BaseCommand):
    help = "Register the bot's slash commands globally (or in one guild, instantly) when they changed."

    def add_arguments(self, parser):
        parser.add_argument(
            "--guild", help="Register in this guild id only (updates instantly; for testing)."
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Register even if the commands are unchanged since last time.",
        )

    def handle(self, *args, guild=None, force=False, **options):
        if guild is not None and not guild.isdigit():
            raise CommandError(f"--guild must be a guild id (digits), not {guild!r}.")
        if not settings.DISCORD_CLIENT_ID:
            raise CommandError("DISCORD_CLIENT_ID (the application id) is not set.")
        if not settings.DISCORD_BOT_TOKEN:
            raise CommandError("DISCORD_BOT_TOKEN is not set.")
        payloads = command_payloads()
        digest = payload_hash(payloads)
        scope = scope_for(guild)
        where = f"guild {guild}" if guild else "global scope"
        if not force and registered_command_hash(scope=scope) == digest:
            self.stdout.write(
                f"Application commands unchanged since the last registration in the {where} "
                f"({len(payloads)} commands): skipped. Use --force to register anyway."
            )
            return
        try:
            registered = register_commands(
                DiscordClient(), application_id=settings.DISCORD_CLIENT_ID, payloads=payloads, guild_id=guild
            )
        except DiscordError as error:
            raise CommandError(f"Discord refused the registration in the {where}: {error}") from error
        self.stdout.write(
            self.style.SUCCESS(f"Successfully registered {len(registered)} application commands.")
        )

"""`manage.py announce [--channel <id or name>] "text" [--embed [--title T]] [--dry-run]`: post a notice.

Without --channel it posts to DISCORD_ANNOUNCEMENTS_CHANNEL_ID.
"""

import getpass
import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dealscale.errors import DomainError
from discord_rest.client import DiscordClient, DiscordError
from discordbot import embeds
from discordbot.services import find_text_channel_id, post_announcement

MAX_CONTENT = 2000
MAX_DESCRIPTION = 4096
MAX_TITLE = 256  # message.mdx "Embed Limits"; the 📢 prefix counts too


class Command(BaseCommand):
    help = "Post a message (e.g. a maintenance notice) to a channel of the community's server."

    def add_arguments(self, parser):
        parser.add_argument("text", help="The message.")
        parser.add_argument(
            "--channel",
            help="Channel id, or its name in DISCORD_GUILD_ID (default: DISCORD_ANNOUNCEMENTS_CHANNEL_ID).",
        )
        parser.add_argument("--embed", action="store_true", help="Post the text as an embed.")
        parser.add_argument("--title", default="Announcement", help="Title of the embed (with --embed).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would be posted; send nothing."
        )

    def handle(self, *args, text, channel=None, embed=False, title="Announcement", dry_run=False, **options):
        channel = channel or settings.DISCORD_ANNOUNCEMENTS_CHANNEL_ID
        if not channel:
            raise CommandError("Pass --channel, or set DISCORD_ANNOUNCEMENTS_CHANNEL_ID.")
        text = text.strip()
        if not text:
            raise CommandError("The message is empty.")
        limit = MAX_DESCRIPTION if embed else MAX_CONTENT
        if len(text) > limit:
            raise CommandError(f"The message is {len(text)} characters; Discord allows {limit} here.")
        if embed:
            notice = embeds.announcement(title=title, text=text).to_dict()
            if len(notice["title"]) > MAX_TITLE:
                raise CommandError(
                    f"The title is {len(notice['title'])} characters; Discord allows {MAX_TITLE}."
                )
            body = {"embeds": [notice]}
        else:
            body = {"content": text}

        if not dry_run and not settings.DISCORD_BOT_TOKEN:
            # Without a token every call is a 401 the client would only learn after its retries.
            raise CommandError("DISCORD_BOT_TOKEN is not set: the bot cannot post.")
        client = DiscordClient()
        if channel.isdigit():
            channel_id = channel
        elif dry_run and not settings.DISCORD_BOT_TOKEN:
            channel_id = f"#{channel.lstrip('#')}"
        else:
            if not settings.DISCORD_GUILD_ID:
                raise CommandError("A channel name needs DISCORD_GUILD_ID; or pass the channel id.")
            try:
                channel_id = find_text_channel_id(client, guild_id=settings.DISCORD_GUILD_ID, name=channel)
            except DomainError as error:
                raise CommandError(error.message) from error
            except DiscordError as error:
                raise CommandError(f"Could not list the server's channels: {error}") from error

        if dry_run:
            self.stdout.write(f"Dry run: would post to channel {channel_id}:")
            self.stdout.write(json.dumps(body, indent=2, ensure_ascii=False))
            return
        try:
            # The shell user who ran the command: the CLI has no signed-in actor.
            message = post_announcement(client, channel_id=channel_id, body=body, actor=getpass.getuser())
        except DiscordError as error:
            raise CommandError(f"Discord refused the message: {error}") from error
        self.stdout.write(self.style.SUCCESS(f"Posted to channel {channel_id} (message {message['id']})."))

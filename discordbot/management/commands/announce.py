"""`manage.py announce [--channel <id or name>] "text" [--embed [--title T]] [--dry-run]`: post a notice.

Without --channel it posts to DISCORD_ANNOUNCEMENTS_CHANNEL_ID.
"""

import getpass
import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dealscale.errors import DomainError
from discord_rest.client import DiscordClient, DiscordError
from discordbot import embeds, limits
from discordbot.services import find_text_channel_id, post_announcement

# Bad input, like runbot's missing token: nothing was sent.
EXIT_BAD_INPUT = 2


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
        refusal = announcement_refusal(text=text, title=title, embed=embed)
        if refusal:
            raise CommandError(f"{refusal} Nothing was sent.", returncode=EXIT_BAD_INPUT)
        if embed:
            notice = embeds.announcement(title=title, text=text).to_dict()
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


def announcement_refusal(*, text: str, title: str, embed: bool) -> str | None:
    """Why Discord would refuse this announcement (see discordbot.limits), or None.

    An announcement is refused rather than cut: its author should choose what to drop. With --embed the
    title (prefix included) and the description are checked; their sum with the footer stays far below
    Discord's 6000-character total, so that one cannot be reached.
    """
    if not text:
        return "The message is empty."
    if not embed:
        if limits.length(text) > limits.CONTENT:
            return (
                f"The message is {limits.length(text)} characters; Discord allows {limits.CONTENT} "
                "in a message (use --embed for up to 4096)."
            )
        return None
    if limits.length(text) > limits.EMBED_DESCRIPTION:
        return (
            f"The message is {limits.length(text)} characters; Discord allows "
            f"{limits.EMBED_DESCRIPTION} in an embed."
        )
    title_room = limits.EMBED_TITLE - limits.length(embeds.ANNOUNCEMENT_TITLE_PREFIX)
    if limits.length(title) > title_room:
        return (
            f"The title is {limits.length(title)} characters; Discord allows {title_room} here "
            f"({limits.EMBED_TITLE} with the {embeds.ANNOUNCEMENT_TITLE_PREFIX.strip()} prefix)."
        )
    return None

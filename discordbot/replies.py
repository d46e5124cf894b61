"""How the bot says "no": its own refusals, and the one ephemeral answer to any DomainError.

A service's refusal (credits.errors, accounts.errors...) and the bot's own (not linked, unknown button)
are both DomainErrors: the command error handlers answer them with `refusal_embed`, ephemerally, never
reporting them as bugs.
"""

import nextcord
from django.conf import settings

from dealscale.errors import DomainError
from discordbot import embeds


class Refusal(DomainError):
    """A refusal of the bot itself (bad argument, unknown button, a member not linked)."""

    code = "refused"


class NotLinked(Refusal):
    """The caller's Discord account is not linked to a DealScale user."""

    code = "discord_not_linked"
    title = "Link your account"

    def __init__(self) -> None:
        super().__init__("Your Discord account is not linked.")


class IntegrationDisabled(Refusal):
    """Ops switched the whole integration off (`manage.py discord_integration off`)."""

    code = "discord_integration_off"
    title = "Temporarily disabled"

    def __init__(self) -> None:
        super().__init__("DealScale's Discord features are temporarily disabled. Please try again later.")


def link_url() -> str:
    return f"{settings.SITE_URL}/profile/"


def reply_text(error: DomainError) -> str:
    """What the member reads: the error's message, or for bad input each field's messages, one a line."""
    lines = [
        message
        for messages in (error.fields or {}).values()
        if isinstance(messages, list)
        for message in messages
    ]
    return "\n".join(lines) or error.message


def refusal_embed(error: DomainError) -> nextcord.Embed:
    """The ephemeral embed answering a refusal: its title over its reply text (a link button if unlinked)."""
    if isinstance(error, NotLinked):
        return embeds.not_linked(link_url=link_url())
    return embeds.problem(reply_text(error), title=error.title)

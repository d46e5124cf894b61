"""Domain errors of the discordbot app's services (the bot's own refusals are in discordbot.replies)."""

from dealscale.errors import DomainError


class AmbiguousChannel(DomainError):
    """No text channel, or several, carry the name asked for."""

    code = "ambiguous_channel"

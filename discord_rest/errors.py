"""Errors of the Discord client: one class per way a call to Discord can fail, for callers to map."""

from typing import Any


class DiscordError(Exception):
    """A Discord call failed; ``status`` is the HTTP status (0 for a network failure).

    ``code`` is Discord's JSON error code (10007 Unknown Member, 50013 Missing Permissions...), ``error`` the
    OAuth2 error string (``invalid_grant``...) on token endpoints, ``body`` the parsed response body.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: int | None = None,
        error: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(f"{status}: {message}" if status else message)
        self.status = status
        self.code = code
        self.message = message
        self.error = error
        self.body = body


class DiscordUnauthorized(DiscordError):
    """401: the bot token or the user's access token is invalid, expired or revoked."""


class DiscordForbidden(DiscordError):
    """403: missing permissions or access (50013, 50001), or a user who doesn't accept DMs (50007)."""


class DiscordNotFound(DiscordError):
    """404: unknown member, role, channel, message, interaction..."""


class DiscordRateLimited(DiscordError):
    """429 after every retry, or a wait too long to block on; ``retry_after`` says when to try again."""

    def __init__(self, message: str, *, retry_after: float, status: int = 429, **kwargs: Any) -> None:
        super().__init__(message, status=status, **kwargs)
        self.retry_after = retry_after


class DiscordInvalidRequestLimit(DiscordRateLimited):
    """Refused locally: too many invalid requests in 10 minutes, so non-essential calls pause (no request sent)."""


class DiscordServerError(DiscordError):
    """5xx or a network error that outlived every retry."""

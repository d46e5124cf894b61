"""Domain errors of the accounts app: each sets its code, message and HTTP status once, here."""

from dealscale.errors import Conflict, DomainError, NotFound, Unavailable


class TokenNotFound(NotFound):
    """No active token with that id belongs to the caller."""

    code = "token_not_found"
    title = "Unknown token"


class NotLinked(NotFound):
    """The user has no linked Discord account."""

    code = "discord_not_linked"
    title = "Discord not linked"


class UnlinkWouldLockOut(Conflict):
    """Unlinking would leave the user with no way to sign in (no password set)."""

    code = "unlink_would_lock_out"
    title = "Set a password first"


class RelinkRequired(Conflict):
    """Discord refused the stored tokens: the user must link Discord again."""

    code = "discord_relink_required"
    title = "Link Discord again"


class DiscordTemporarilyUnavailable(Unavailable):
    """Discord could not refresh a token just now (5xx, timeout, rate limit); the stored tokens are kept."""

    code = "discord_unavailable"


class InvalidRollout(DomainError):
    """The rollout percentage is not a number from 0 to 100 with at most one decimal."""

    code = "invalid_rollout"


class FlagMissing(Unavailable):
    """The discord_integration flag does not exist (migrations not applied?)."""

    code = "flag_missing"

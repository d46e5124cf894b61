"""Domain errors of the credits app: each sets its code, message and HTTP status once, here.

The doors translate them with the shared helpers of `dealscale.errors` (API, admin, web, bot).
"""

from dealscale.errors import Conflict, DomainError, NotFound, PermissionDenied


class CreditsError(DomainError):
    """Base of every refusal the credits services raise."""


class CreditsValidationError(CreditsError):
    """Bad input: `fields` maps each field to its messages, every message naming the rule it breaks."""

    code = "invalid"
    title = "Check your request"

    def __init__(self, fields: dict[str, list[str]]):
        message = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in fields.items())
        super().__init__(message, fields=fields)


class LimitExceeded(CreditsError):
    """A per-user limit refuses the request; `rule` is the setting that sets it (e.g. CREDITS_MAX_PENDING)."""

    code = "limit_exceeded"
    title = "Limit reached"

    def __init__(self, message: str, *, rule: str):
        super().__init__(message, rule=rule)
        self.rule = rule


class InvalidTransition(CreditsError, Conflict):
    """A status change the lifecycle pending → approved | denied | cancelled does not allow."""

    code = "invalid_transition"

    def __init__(self, message: str, *, current: str, target: str):
        super().__init__(message)
        self.current = current
        self.target = target


class AlreadyDecided(InvalidTransition):
    """The request left `pending` before this decision could be applied (decided elsewhere meanwhile)."""

    code = "already_decided"
    title = "Already decided"


class InsufficientBalance(CreditsError):
    """A spend or negative adjustment would take the balance below zero: an error of the `amount` field."""

    code = "insufficient_balance"

    def __init__(self, message: str):
        super().__init__(message, fields={"amount": [message]})


class NotAllowed(CreditsError, PermissionDenied):
    """The actor may not do this (not a moderator, or not the owner of the request)."""


class NotAModerator(NotAllowed):
    """The actor fails `credits.selectors.can_moderate`: not active staff with the moderation permission."""

    default_message = "Only staff with the 'Can moderate credit requests' permission can do this."

    def __init__(self) -> None:
        super().__init__(self.default_message)


class RequestNotFound(CreditsError, NotFound):
    """No credit request with that id (visible to the caller)."""

    title = "Unknown request"

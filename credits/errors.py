"""Domain errors of the credits app; each door maps them to its own answer (400/409, admin message, reply)."""


class CreditsError(Exception):
    """Base of every refusal the credits services raise."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class CreditsValidationError(CreditsError):
    """Bad input: `errors` maps each field to its messages, every message naming the rule it breaks."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items()))


class LimitExceeded(CreditsError):
    """A per-user limit refuses the request; `rule` is the setting that sets it (e.g. CREDITS_MAX_PENDING)."""

    def __init__(self, message: str, *, rule: str):
        super().__init__(message)
        self.rule = rule


class InvalidTransition(CreditsError):
    """A status change the lifecycle pending → approved | denied | cancelled does not allow."""

    def __init__(self, message: str, *, current: str, target: str):
        super().__init__(message)
        self.current = current
        self.target = target


class AlreadyDecided(InvalidTransition):
    """The request left `pending` before this decision could be applied (decided elsewhere meanwhile)."""


class InsufficientBalance(CreditsError):
    """A spend or negative adjustment would take the balance below zero."""


class NotAllowed(CreditsError):
    """The actor may not do this (not a moderator, or not the owner of the request)."""


class RequestNotFound(CreditsError):
    """No credit request with that id (visible to the caller)."""

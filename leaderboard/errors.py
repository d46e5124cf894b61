"""Domain errors of the leaderboard app: each sets its code, message and HTTP status once, here."""

from dealscale.errors import Conflict, DomainError, NotFound


class ServiceKeyNameTaken(Conflict):
    """A service key with that name (the origin of its events) already exists."""

    code = "service_key_name_taken"


class ServiceKeyNotFound(NotFound):
    """No active service key has that id."""

    code = "service_key_not_found"


class InvalidEvents(DomainError):
    """Some events of a batch are invalid; `errors` maps the event index to its field errors.

    The API answers `{"events": {index: {field: [messages]}}}`.
    """

    code = "invalid_events"

    def __init__(self, errors: dict[str, dict[str, list[str]]]):
        super().__init__("Invalid score events.", fields={"events": errors})
        self.errors = errors


class InvalidAdjustment(DomainError):
    """A manual adjustment without a reason: `fields` names the field."""

    def __init__(self, fields: dict[str, list[str]]):
        message = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in fields.items())
        super().__init__(message, fields=fields)

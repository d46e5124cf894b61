"""The refusals of role sync, as domain errors: each door answers them with its own helper."""

from dealscale.errors import Conflict, DomainError


class RunNotAwaitingConfirmation(Conflict):
    """Only a run held by the safety brake can be confirmed (409)."""

    code = "not_awaiting_confirmation"


class InvalidConfiguration(DomainError):
    """The milestones file has errors; `errors` lists every one with its JSON path (400).

    The API body carries them too: `{"detail": "…", "code": "invalid_configuration", "errors": […]}`.
    """

    code = "invalid_configuration"
    status = 400

    def __init__(self, errors: list[str]):
        super().__init__(f"{len(errors)} error(s) in the milestones configuration", errors=errors)
        self.errors = errors

"""The one domain error model: services raise a `DomainError`, each door turns it into its own answer.

A domain error carries what every door needs, decided once where the rule lives:
- `code`: a stable machine name (`already_decided`, `limit_exceeded`…), the API's `code` field;
- `message`: one human sentence, shown as is on the web, in the admin and in an ephemeral bot reply;
- `status`: the HTTP status the API answers with (400 bad input, 403, 404, 409 conflict…);
- `fields`: for validation errors, each field's messages (the API answers `{field: [messages]}`);
- `extra`: more keys for the API body (e.g. `rule` for a refused limit).

The doors translate with one helper each: `dealscale.api.exception_handler` for DRF,
`dealscale.admin_mixins.message_user_for_error` for the admin, `discordbot.replies` for the bot.
"""

from typing import Any


class DomainError(Exception):
    """A refusal of a service, with its code, human message and HTTP status."""

    code = "invalid"
    status = 400

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        fields: dict[str, list[str]] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.fields = fields
        self.extra = extra

    def api_body(self) -> dict[str, Any]:
        """The API's JSON body for this error: field errors as DRF shapes them, else detail + code."""
        if self.fields:
            return dict(self.fields)
        return {"detail": self.message, "code": self.code, **self.extra}


class NotFound(DomainError):
    code = "not_found"
    status = 404


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403


class Conflict(DomainError):
    code = "conflict"
    status = 409


class Unavailable(DomainError):
    """A dependency outside the database (Discord, the broker) cannot answer now; try again later."""

    code = "unavailable"
    status = 503

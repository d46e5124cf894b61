"""The one domain error model: services raise a `DomainError`, each door turns it into its own answer.

A domain error carries what every door needs, decided once where the rule lives:
- `code`: a stable machine name (`already_decided`, `limit_exceeded`…), the API's `code` field;
- `message`: one human sentence, shown as is on the web, in the admin and in an ephemeral bot reply;
- `title`: a short heading for it (the title of the bot's reply embed);
- `status`: the HTTP status the API answers with (400 bad input, 403, 404, 409 conflict…);
- `fields`: for validation errors, each field's messages (the API answers `{field: [messages]}`; a batch
  may nest them per item, e.g. `{"events": {"3": {"user_id": [...]}}}`);
- `extra`: more keys for the API body (e.g. `rule` for a refused limit).

The doors translate with one helper each: `dealscale.api.exception_handler` for DRF,
`dealscale.admin_mixins.message_user_for_error` for the admin, `dealscale.forms.add_error_to_form` and
`dealscale.messages.add_message_for_error` for the web pages, `discordbot.replies` for the bot.
Each app declares its own errors in `<app>/errors.py`, subclasses of these.
"""

from typing import Any


class DomainError(Exception):
    """A refusal of a service, with its code, human message and HTTP status."""

    code = "invalid"
    status = 400
    title = "Can't do that"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        title: str | None = None,
        fields: dict[str, Any] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        if title is not None:
            self.title = title
        self.fields = fields
        self.extra = extra

    def api_body(self) -> dict[str, Any]:
        """The API's JSON body for this error: field errors as DRF shapes them, else detail + code."""
        if self.fields:
            return dict(self.fields)
        return {"detail": self.message, "code": self.code, **self.extra}


class NotFound(DomainError):
    """What the caller asked for does not exist (any more, or for them)."""

    code = "not_found"
    status = 404
    title = "Not found"


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403
    title = "Not allowed"


class Conflict(DomainError):
    """The current state refuses the change (already decided, name taken...): nothing was changed."""

    code = "conflict"
    status = 409
    title = "Nothing changed"


class Unavailable(DomainError):
    """A dependency outside the database (Discord, the broker) cannot answer now; try again later."""

    code = "unavailable"
    status = 503
    title = "Temporarily unavailable"

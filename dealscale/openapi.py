"""The API's OpenAPI schema tells the truth about errors and about what the inputs accept.

`AutoSchema` (REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]) adds to every operation each error status its
view can answer, from what the view is made of (authentication, permissions, throttles, parameters,
a body), with the one error shape of `dealscale.api`: the `Error` component (`{detail, code, ...}`)
or `FieldErrors` (`{field: [messages]}`), and the `Retry-After` of 429 and 503. A view declares only
what is its own (a 409, a refusal's extra keys); what it declares wins.

The field extensions below document `dealscale.api`'s input fields exactly as they validate.
"""

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import permissions
from rest_framework.authentication import SessionAuthentication

from dealscale.api import DATABASE_RETRY_AFTER_SECONDS, trimmed_text_pattern

ERROR = "Error"
FIELD_ERRORS = "FieldErrors"


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


COMPONENTS = {
    ERROR: {
        "type": "object",
        "description": (
            "Every refusal that is not about a single field: a human `detail`, a stable machine `code` "
            "(e.g. `not_authenticated`, `permission_denied`, `not_found`, `throttled`, `already_decided`, "
            "`database_unavailable`) and any keys of that refusal (e.g. `rule`)."
        ),
        "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
        "required": ["detail", "code"],
    },
    FIELD_ERRORS: {
        "type": "object",
        "description": (
            "Invalid input, per field: `{field: [messages]}`; the items of a list or a batch nest by "
            'index (`{"events": {"3": {"user_id": [...]}}}`); `non_field_errors` holds the rest.'
        ),
        "minProperties": 1,
        "additionalProperties": {
            "oneOf": [{"type": "array", "items": {"type": "string"}}, _ref(FIELD_ERRORS)],
        },
    },
}

BAD_INPUT = {"oneOf": [_ref(FIELD_ERRORS), _ref(ERROR)]}


def _error_schema(properties: dict[str, dict] | None) -> dict:
    if not properties:
        return _ref(ERROR)
    return {"allOf": [_ref(ERROR), {"type": "object", "properties": properties}]}


def error(description: str, *, properties: dict[str, dict] | None = None) -> OpenApiResponse:
    """A documented refusal in the `Error` shape; `properties` are the keys it may carry besides."""
    return OpenApiResponse(_error_schema(properties), description=description)


def bad_input(description: str, *, properties: dict[str, dict] | None = None) -> OpenApiResponse:
    """A 400: field errors, or a refusal in the `Error` shape (with `properties` it may carry)."""
    return OpenApiResponse(
        {"oneOf": [_ref(FIELD_ERRORS), _error_schema(properties)]}, description=description
    )


RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    required=True,
    response=[429, 503],
    description="Seconds to wait before trying again.",
)
WWW_AUTHENTICATE = OpenApiParameter(
    "WWW-Authenticate",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    response=[401],
    description="The scheme to authenticate with (`Bearer`).",
)

STANDARD_ERRORS = {
    "400": bad_input(
        "Invalid input: `{field: [messages]}`, or `{detail, code}` (e.g. `parse_error` for a body that is "
        "not JSON)."
    ),
    "401": error("No valid credentials (`not_authenticated`, `authentication_failed`)."),
    "403": error(
        "Not allowed (`permission_denied`): a missing permission, or a signed-in session's request "
        "without its CSRF token."
    ),
    "404": error("Nothing at this id, or nothing the caller may see (`not_found`)."),
    "406": error("The Accept header allows no media type this operation answers with (`not_acceptable`)."),
    "415": error("The body is not `application/json` (`unsupported_media_type`)."),
    "429": error("Too many requests (`throttled`): wait Retry-After seconds."),
    "503": error(
        "A dependency is down (`database_unavailable`, `unavailable`); nothing was changed. Retry after "
        f"Retry-After seconds (about {DATABASE_RETRY_AFTER_SECONDS})."
    ),
}


class AutoSchema(SpectacularAutoSchema):
    def get_override_parameters(self):
        return [*super().get_override_parameters(), RETRY_AFTER, WWW_AUTHENTICATE]

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for name, schema in COMPONENTS.items():
            self.registry.register_on_missing(
                ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema)
            )
        for status in self._error_statuses():
            if status not in responses:
                responses[status] = self._get_response_for_code(
                    STANDARD_ERRORS[status], status, media_types=["application/json"], direction=direction
                )
        return dict(sorted(responses.items()))

    def _error_statuses(self) -> list[str]:
        view = self.view
        checks = [permission.__class__ for permission in view.get_permissions()]
        requires_auth = permissions.AllowAny not in checks
        has_body = self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None
        statuses = ["406", "503"]
        if has_body or any(parameter["in"] != "path" for parameter in self._get_parameters()):
            statuses.append("400")
        if requires_auth and view.get_authenticators():
            statuses.append("401")
        beyond_sign_in = set(checks) - {permissions.AllowAny, permissions.IsAuthenticated}
        csrf = self.method not in permissions.SAFE_METHODS and any(
            isinstance(authenticator, SessionAuthentication) for authenticator in view.get_authenticators()
        )
        if beyond_sign_in or csrf:
            statuses.append("403")
        if "{" in self.path:
            statuses.append("404")
        if has_body:
            statuses.append("415")
        if view.get_throttles():
            statuses.append("429")
        return statuses


def text_schema(*, min_length: int = 0, max_length: int | None = None) -> dict:
    """The schema of a TextField: at most max_length characters as sent, min_length once trimmed."""
    parts = [f"At most {max_length} characters" if max_length is not None else "Any length"]
    if min_length:
        parts.append(f"at least {min_length} once leading and trailing whitespace is trimmed")
    schema = {
        "type": "string",
        "pattern": trimmed_text_pattern(min_length=min_length),
        "description": f"{', '.join(parts)}; no NUL character.",
    }
    if max_length is not None:
        schema["maxLength"] = max_length
    return schema


class TextFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "dealscale.api.TextField"

    def map_serializer_field(self, auto_schema, direction):
        return text_schema(min_length=self.target.text_min_length, max_length=self.target.text_max_length)

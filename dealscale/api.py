"""API-wide behaviour shared by every app's DRF views.

- input fields that enforce exactly what the schema declares for them (`dealscale.openapi` documents
  them): strict JSON types, trimmed text, ASCII integers and non-empty choices in a query string;
- the pagination of every list: a `limit` or `offset` out of bounds is refused, never clamped;
- the one error shape of every 4xx/5xx under /api/ (`{detail, code, ...}` or `{field: [messages]}`):
  the DRF exception handler, the catch-all 404 and Django's 404/500 handlers for /api/ paths;
- a lost database connection answers 503 `database_unavailable` with a Retry-After: an outage, not a bug.
"""

import re

import structlog
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, pagination, serializers
from rest_framework.fields import empty
from rest_framework.response import Response
from rest_framework.utils import html
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from dealscale.errors import DomainError

logger = structlog.get_logger(__name__)

API_PREFIX = "/api/"
# A dropped connection is replaced on the next request (CONN_HEALTH_CHECKS); a restarting PostgreSQL
# takes a few seconds more.
DATABASE_RETRY_AFTER_SECONDS = 5
# DRF leaves Retry-After out when no throttle can tell its wait (a rate lowered under a full bucket).
THROTTLE_RETRY_AFTER_SECONDS = 60


# --- Input fields: what they accept is what the schema says ----------------------------------------

# ASCII only, and short enough for int(): str.isdigit() and int() also take "²", "١٠", " 7" or "1_0"
# (and int() refuses more than 4300 digits), none of which is an integer the API documents.
_ASCII_INTEGER = re.compile(r"-?[0-9]{1,18}")

# Exactly the characters str.strip() removes (those whose str.isspace() is true), spelled so that
# Python's re, ECMA-262 and Rust's regex read the class alike (their \s differ from each other).
WHITESPACE_CLASS = "\\x09-\\x0d\\x1c-\\x20\\x85\\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


def ascii_integer(raw: str) -> int | None:
    """The integer `raw` spells in ASCII digits (optionally negative), None for anything else."""
    return int(raw) if _ASCII_INTEGER.fullmatch(raw) else None


def trimmed_text_pattern(*, min_length: int = 0) -> str:
    """The regex of a non-empty string with no NUL whose trimmed length is at least min_length.

    DRF's CharField strips the value before it checks a minimum length (and refuses NUL), which a
    JSON Schema minLength, counting the untrimmed characters, cannot say. The empty string is left
    out: drf-spectacular documents a blank-allowing field as `oneOf` this and `maxLength: 0`.
    """
    if min_length <= 0:
        return "^[^\\x00]+$"
    space, solid = f"[{WHITESPACE_CLASS}]*", f"[^\\x00{WHITESPACE_CLASS}]"
    if min_length == 1:
        return f"^[^\\x00]*{solid}[^\\x00]*$"
    return f"^{space}{solid}[^\\x00]{{{min_length - 2},}}{solid}{space}$"


def _is_form_input(field: serializers.Field) -> bool:
    """Whether the field reads a form or a query string (all strings) rather than a JSON document."""
    return html.is_html_input(getattr(field.root, "initial_data", None))


class StrictIntegerField(serializers.IntegerField):
    """An integer that must be a JSON integer: DRF's own field also takes "5", 5.0 and "5.0"."""

    def to_internal_value(self, data):
        if not _is_form_input(self) and (isinstance(data, bool) or not isinstance(data, int)):
            self.fail("invalid")
        return super().to_internal_value(data)


class TextField(serializers.CharField):
    """A JSON string of at most max_length characters as sent, and min_length once trimmed; no NUL.

    DRF's CharField also takes numbers (and makes "5" of 5), and counts both lengths on the trimmed
    value; this one refuses numbers and counts the maximum on what was sent, as the schema says
    (`maxLength`, and `trimmed_text_pattern` for the minimum). The lengths are checked here rather
    than by Django's length validators, which drf-spectacular would document as the untrimmed ones.
    `check_min_length=False` leaves the minimum to a service that owns the rule and its message.
    """

    def __init__(
        self, *, min_length: int = 0, max_length: int | None = None, check_min_length: bool = True, **kwargs
    ):
        self.text_min_length, self.text_max_length = min_length, max_length
        self.check_min_length = check_min_length
        # allow_blank only tells the schema generator; blankness is decided in run_validation.
        super().__init__(trim_whitespace=True, allow_blank=min_length == 0, **kwargs)

    def run_validation(self, data=empty):
        # Blank (or only whitespace) is the empty text: fine unless a minimum length asks for more.
        if isinstance(data, str) and not data.strip():
            self._check_max_length(data)
            if self.text_min_length and self.check_min_length:
                self.fail("blank")
            return ""
        return serializers.Field.run_validation(self, data)

    def to_internal_value(self, data):
        if not isinstance(data, str) and not _is_form_input(self):
            self.fail("invalid")
        self._check_max_length(str(data))
        value = super().to_internal_value(data)
        if self.check_min_length and len(value) < self.text_min_length:
            self.fail("min_length", min_length=self.text_min_length)
        return value

    def _check_max_length(self, sent: str) -> None:
        if self.text_max_length is not None and len(sent) > self.text_max_length:
            self.fail("max_length", max_length=self.text_max_length)


class _EmptyIsInvalidMixin:
    """DRF reads `?name=` as an absent parameter, so as its default; the API refuses it instead."""

    def get_value(self, dictionary):
        if html.is_html_input(dictionary) and dictionary.get(self.field_name) == "":
            return ""
        return super().get_value(dictionary)


class AsciiIntegerField(_EmptyIsInvalidMixin, serializers.IntegerField):
    """An integer given as a number or as a string of ASCII digits; an empty query parameter is invalid."""

    def to_internal_value(self, data):
        if isinstance(data, str) and ascii_integer(data) is None:
            self.fail("invalid")
        return super().to_internal_value(data)


class QueryChoiceField(_EmptyIsInvalidMixin, serializers.ChoiceField):
    """A choice whose empty query parameter is invalid rather than the default."""


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """`?limit=&offset=` of every list: not an integer, or out of bounds, is a 400 naming the parameter.

    DRF's own pagination silently replaces a bad value by the default. A `limit` above max_limit still
    gives max_limit rows (one page never loads a whole table), as the schema says.
    """

    default_limit = 20
    max_limit = 100
    # Past PostgreSQL's bigint an OFFSET is an error, not an empty page.
    max_offset = 10_000_000
    # What ascii_integer reads: 18 digits.
    _largest = 10**18 - 1

    def get_limit(self, request) -> int:
        limit = self._parameter(request, self.limit_query_param, self.default_limit, 1, self._largest)
        return min(limit, self.max_limit)

    def get_offset(self, request) -> int:
        return self._parameter(request, self.offset_query_param, 0, 0, self.max_offset)

    @staticmethod
    def _parameter(request, name: str, default: int, low: int, high: int) -> int:
        if name not in request.query_params:
            return default
        value = ascii_integer(request.query_params[name])
        if value is None or not low <= value <= high:
            raise exceptions.ValidationError({name: [f"Must be an integer from {low} to {high}."]})
        return value

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.limit_query_param: {
                "schema": {"minimum": 1, "maximum": self._largest, "default": self.default_limit},
                "description": f"Rows per page; more than {self.max_limit} gives {self.max_limit}.",
            },
            self.offset_query_param: {
                "schema": {"minimum": 0, "maximum": self.max_offset, "default": 0},
                "description": "Rows to skip.",
            },
        }
        for parameter in parameters:
            extra = bounds.get(parameter["name"], {})
            parameter["schema"].update(extra.get("schema", {}))
            if "description" in extra:
                parameter["description"] = extra["description"]
        return parameters


# --- Errors: one shape for every 4xx/5xx under /api/ -------------------------------------------------


def is_database_outage(exc: BaseException) -> bool:
    """A lost or refused database connection: an outage to wait out, not a bug of the request."""
    return isinstance(exc, OperationalError | InterfaceError)


def log_database_outage(request, exc: BaseException) -> None:
    # A warning, not an error: ops hears of an outage from the health checks, not from every request.
    logger.warning("database_unavailable", path=request.path, error=repr(exc))


def error_body(detail: str, code: str, **extra) -> dict:
    """The API's error document: a human `detail`, a stable `code`, and any keys of the error."""
    return {"detail": detail, "code": code, **extra}


DATABASE_UNAVAILABLE = error_body(
    "The database is unavailable; try again in a few seconds.", "database_unavailable"
)


def exception_handler(exc, context):
    """The API's one error shape: `{detail, code, ...}`, or `{field: [messages]}` for bad input.

    A service's DomainError answers with its own status and body (`DomainError.api_body`); Django's
    ValidationError is a 400 with field errors (never a 500); DRF's own errors (401, 404, 429...) keep
    DRF's body, with the `code` of their detail added beside it; a lost database connection is a 503.
    Every 503 and 429 says when to try again (Retry-After, seconds).
    """
    if is_database_outage(exc):
        log_database_outage(context["request"], exc)
        set_rollback()
        return Response(
            DATABASE_UNAVAILABLE, status=503, headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}
        )
    if isinstance(exc, DomainError):
        # As DRF does for its own exceptions: an ATOMIC_REQUESTS transaction must not commit a refusal.
        set_rollback()
        response = Response(exc.api_body(), status=exc.status)
        if exc.status == 503:
            response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError) and isinstance(response.data, list):
        # `raise ValidationError("...")` outside a serializer's fields: still `{field: [messages]}`.
        response.data = {"non_field_errors": response.data}
    if isinstance(response.data, dict) and set(response.data) == {"detail"}:
        code = getattr(response.data["detail"], "code", None)
        if code is not None:
            response.data["code"] = code
    if response.status_code == 429 and "Retry-After" not in response:
        response["Retry-After"] = str(THROTTLE_RETRY_AFTER_SECONDS)
    return response


def error_response(status: int, detail: str, code: str, **headers: str) -> JsonResponse:
    """An error in the API's shape from outside DRF (URL resolution, Django's error handlers)."""
    response = JsonResponse(error_body(detail, code), status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def database_unavailable_response() -> JsonResponse:
    return error_response(503, **DATABASE_UNAVAILABLE, Retry_After=str(DATABASE_RETRY_AFTER_SECONDS))


def is_api_request(request) -> bool:
    return request.path.startswith(API_PREFIX)


@csrf_exempt
def api_not_found(request, *args, **kwargs) -> JsonResponse:
    """The answer to any /api/ path no route matches (a malformed id, a typo): JSON, never a page.

    Whatever the method: a POST with a session cookie must get this 404, not the CSRF failure page.
    """
    return error_response(404, "No API endpoint at this path.", "not_found")


def api_server_error(request) -> JsonResponse:
    return error_response(500, "Something went wrong on our side; it has been reported.", "server_error")

"""API-wide behaviour shared by every app's DRF views."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, parsers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from dealscale.errors import DomainError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with a body nested past the decoder's recursion limit a 400 as well."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            # json.loads raises RecursionError there, not the ValueError DRF turns into a ParseError.
            raise exceptions.ParseError("JSON parse error - the body is nested too deeply.") from None


def exception_handler(exc, context):
    """The API's one error shape: `{detail, code, ...}`, or `{field: [messages]}` for bad input.

    A service's DomainError answers with its own status and body (`DomainError.api_body`); Django's
    ValidationError is a 400 with field errors (never a 500); DRF's own errors (401, 404, 429...) keep
    DRF's body, with the `code` of their detail added beside it.
    """
    if isinstance(exc, DomainError):
        # As DRF does for its own exceptions: an ATOMIC_REQUESTS transaction must not commit a refusal.
        set_rollback()
        return Response(exc.api_body(), status=exc.status)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and set(response.data) == {"detail"}:
        code = getattr(response.data["detail"], "code", None)
        if code is not None:
            response.data["code"] = code
    return response

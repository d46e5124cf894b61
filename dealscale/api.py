"""API-wide behaviour shared by every app's DRF views."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, parsers
from rest_framework.views import exception_handler as drf_exception_handler


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with a body nested past the decoder's recursion limit a 400 as well."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            # json.loads raises RecursionError there, not the ValueError DRF turns into a ParseError.
            raise exceptions.ParseError("JSON parse error - the body is nested too deeply.") from None


def exception_handler(exc, context):
    """DRF's handler, plus Django's ValidationError as a 400 with field errors (never a 500)."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    return drf_exception_handler(exc, context)

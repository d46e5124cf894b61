"""The API's JSON parser (its own module: DRF's APIView reads the parser setting when it is imported)."""

from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with a body nested past the decoder's recursion limit a 400 as well."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            # json.loads raises RecursionError there, not the ValueError DRF turns into a ParseError.
            raise exceptions.ParseError("JSON parse error - the body is nested too deeply.") from None

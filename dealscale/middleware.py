"""A lost database connection is an outage, not a bug: the caller gets a 503 with Retry-After.

DRF views answer it in the API's error shape through `dealscale.api.exception_handler`; this catches
it for every other view (pages, and any /api/ view outside DRF). The connection is dropped by Django at
the end of the request (`errors_occurred`), and the next request opens a new one.
"""

from django.http import HttpResponse

from dealscale.api import (
    DATABASE_RETRY_AFTER_SECONDS,
    database_unavailable_response,
    is_api_request,
    is_database_outage,
    log_database_outage,
)

UNAVAILABLE_PAGE = (
    '<!doctype html><html lang="en"><head><title>Temporarily unavailable</title></head><body>'
    "<h1>Temporarily unavailable</h1><p>DealScale cannot reach its database right now. "
    "Please try again in a few seconds.</p></body></html>"
)


class DatabaseOutageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_database_outage(exception):
            return None
        log_database_outage(request, exception)
        if is_api_request(request):
            return database_unavailable_response()
        response = HttpResponse(UNAVAILABLE_PAGE, status=503, content_type="text/html; charset=utf-8")
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response

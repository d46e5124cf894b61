"""Django's 404 and 500 handlers: the API's JSON error for /api/ paths, Django's own page elsewhere."""

from django.views import defaults

from dealscale.api import api_not_found, api_server_error, is_api_request


def not_found(request, exception):
    if is_api_request(request):
        return api_not_found(request)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if is_api_request(request):
        return api_server_error(request)
    return defaults.server_error(request)

"""The project's URLs plus `/bench/bare-leaderboard`: a bare Django view returning the same JSON from memory.

The body is read once per process from the leaderboard's own cache path, so both endpoints answer
exactly the same bytes through the same gunicorn and middleware; only authentication, throttling,
query validation and the cache lookup differ.
"""

from functools import cache

from django.http import HttpResponse
from django.urls import path

from dealscale.urls import urlpatterns as project_urlpatterns
from leaderboard import page_cache


@cache
def _body() -> bytes:
    return page_cache.read_page(period="all", limit=10, offset=0)


def bare_leaderboard(request):
    return HttpResponse(_body(), content_type="application/json")


urlpatterns = [path("bench/bare-leaderboard", bare_leaderboard), *project_urlpatterns]

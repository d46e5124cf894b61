"""Fixtures of the leaderboard tests: a service key, a signed-request client, a bearer-token client."""

import json

import pytest
from rest_framework.test import APIClient

from accounts.services import create_api_token
from accounts.tests.factories import UserFactory
from leaderboard import page_cache
from leaderboard.services import create_service_key
from leaderboard.signing import sign


@pytest.fixture(autouse=True)
def _no_local_pages():
    """Pages memoised by one test must not answer the next one."""
    page_cache.forget_local_pages()
    yield
    page_cache.forget_local_pages()


@pytest.fixture
def service_key(db):
    """(row, key, secret) of the "platform" webhook key."""
    return create_service_key(name="platform")


@pytest.fixture
def post_events(service_key):
    """POST a body to /api/score-events signed with the platform key (or tampered with, per test)."""

    def post(payload, *, timestamp=None, signature=None, key=None, body=None):
        _, clear_key, secret = service_key
        raw = body if body is not None else json.dumps(payload).encode()
        header = signature if signature is not None else sign(secret=secret, body=raw, timestamp=timestamp)
        headers = {"HTTP_AUTHORIZATION": f"Bearer {key or clear_key}"}
        if header:
            headers["HTTP_X_DEALSCALE_SIGNATURE"] = header
        return APIClient().post("/api/score-events", data=raw, content_type="application/json", **headers)

    return post


@pytest.fixture
def member(db):
    return UserFactory(username="viewer", display_name="The Viewer")


@pytest.fixture
def api(member):
    """An API client authenticated with `member`'s bearer token."""
    _, key = create_api_token(user=member)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client

"""The optional per-process memo of bearer-token lookups (API_TOKEN_CACHE_SECONDS)."""

import pytest
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from accounts import authentication
from accounts.services import create_api_token, revoke_api_token
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_memo():
    authentication._recent_tokens.clear()
    yield
    authentication._recent_tokens.clear()


def authenticate(key):
    request = Request(APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {key}"))
    return authentication.BearerTokenAuthentication().authenticate(request)


def test_with_the_memo_off_a_revoked_token_is_refused_at_once(settings):
    settings.API_TOKEN_CACHE_SECONDS = 0
    member = UserFactory()
    token, key = create_api_token(user=member)
    authenticate(key)
    revoke_api_token(token_id=token.pk, actor=member)
    with pytest.raises(AuthenticationFailed):
        authenticate(key)


def test_with_the_memo_on_repeated_calls_skip_the_database(settings, django_assert_num_queries):
    settings.API_TOKEN_CACHE_SECONDS = 5
    member = UserFactory()
    _, key = create_api_token(user=member)
    authenticate(key)
    with django_assert_num_queries(0):
        assert authenticate(key)[0] == member


def test_with_the_memo_on_a_revoked_token_is_refused_once_the_memo_expires(settings, monkeypatch):
    settings.API_TOKEN_CACHE_SECONDS = 5
    member = UserFactory()
    token, key = create_api_token(user=member)
    clock = [1000.0]
    monkeypatch.setattr(authentication, "monotonic", lambda: clock[0])
    authenticate(key)
    revoke_api_token(token_id=token.pk, actor=member)
    clock[0] += 4.9
    assert authenticate(key)[0] == member  # the documented window
    clock[0] += 0.2
    with pytest.raises(AuthenticationFailed):
        authenticate(key)

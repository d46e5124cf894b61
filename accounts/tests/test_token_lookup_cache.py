"""Bearer-token lookups in the shared cache: no query for a known token, and nothing stale after a change."""

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.test import override_settings
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from accounts import authentication, token_lookups
from accounts.models import APIToken
from accounts.services import create_api_token, revoke_api_token
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# Nothing listens on port 1: every cache call fails the way a dead Redis does.
UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2, "IGNORE_EXCEPTIONS": True},
    }
}


def authenticate(key):
    request = Request(APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {key}"))
    return authentication.BearerTokenAuthentication().authenticate(request)


def api_client(key) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def test_a_known_token_costs_no_database_query_on_the_next_request(django_assert_num_queries):
    member = UserFactory()
    _, key = create_api_token(user=member)
    authenticate(key)
    with django_assert_num_queries(0):
        assert authenticate(key)[0] == member


def test_the_lookup_is_shared_through_the_cache_not_kept_in_the_process():
    member = UserFactory()
    token, key = create_api_token(user=member)
    authenticate(key)
    cached = cache.get(f"{token_lookups.PREFIX}:{token.key_hash}")
    assert isinstance(cached, APIToken) and cached.pk == token.pk and cached.user == member


def test_a_revoked_token_is_refused_on_the_very_next_request():
    member = UserFactory()
    token, key = create_api_token(user=member)
    client = api_client(key)
    assert client.get("/api/credits/balance").status_code == 200
    revoke_api_token(token_id=token.pk, actor=member)
    response = client.get("/api/credits/balance")
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid or revoked token."


def test_a_token_revoked_in_the_admin_is_refused_on_the_next_request(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    member = UserFactory()
    token, key = create_api_token(user=member)
    assert api_client(key).get("/api/credits/balance").status_code == 200
    client.force_login(staff)
    response = client.post(
        "/admin/accounts/apitoken/", {"action": "revoke_tokens", "_selected_action": [token.pk]}
    )
    assert response.status_code == 302
    assert api_client(key).get("/api/credits/balance").status_code == 401


def test_a_deactivated_member_is_refused_on_the_next_request():
    member = UserFactory()
    _, key = create_api_token(user=member)
    authenticate(key)
    member.is_active = False
    member.save()
    with pytest.raises(AuthenticationFailed):
        authenticate(key)


def test_a_deleted_token_is_refused_on_the_next_request():
    member = UserFactory()
    token, key = create_api_token(user=member)
    authenticate(key)
    token.delete()
    with pytest.raises(AuthenticationFailed):
        authenticate(key)


def test_a_moderator_who_loses_the_staff_flag_loses_the_moderation_api_at_once():
    moderator = UserFactory(is_staff=True)
    moderator.user_permissions.add(Permission.objects.get(codename="moderate_creditrequest"))
    _, key = create_api_token(user=moderator)
    client = api_client(key)
    assert client.get("/api/admin/credit-requests").status_code == 200
    moderator.is_staff = False
    moderator.save()
    assert client.get("/api/admin/credit-requests").status_code == 403


def test_a_granted_or_removed_permission_applies_at_once():
    moderator = UserFactory(is_staff=True)
    _, key = create_api_token(user=moderator)
    client = api_client(key)
    assert client.get("/api/admin/credit-requests").status_code == 403
    permission = Permission.objects.get(codename="moderate_creditrequest")
    moderator.user_permissions.add(permission)
    assert client.get("/api/admin/credit-requests").status_code == 200
    moderator.user_permissions.remove(permission)
    assert client.get("/api/admin/credit-requests").status_code == 403


def test_a_lookup_that_read_the_token_before_its_revoke_cannot_cache_it_again(monkeypatch):
    member = UserFactory()
    token, key = create_api_token(user=member)
    before_revoke = APIToken.objects.select_related("user").get(pk=token.pk)
    revoke_api_token(token_id=token.pk, actor=member)
    # A request that queried just before the revoke committed and reaches the cache only now.
    monkeypatch.setattr(token_lookups, "active_token_for_key", lambda _key: before_revoke)
    token_lookups.cached_active_token(key)
    monkeypatch.undo()
    with pytest.raises(AuthenticationFailed):
        authenticate(key)


@pytest.mark.parametrize("swallowed", [True, False], ids=["errors ignored", "errors raised"])
def test_with_the_cache_down_lookups_fall_back_to_the_database(django_assert_num_queries, swallowed):
    member = UserFactory()
    token, key = create_api_token(user=member)
    caches = {"default": {**UNREACHABLE_REDIS["default"]}}
    caches["default"]["OPTIONS"] = {**caches["default"]["OPTIONS"], "IGNORE_EXCEPTIONS": swallowed}
    with override_settings(CACHES=caches):
        assert authenticate(key)[0] == member
        with django_assert_num_queries(1):  # the lookup itself: nothing was cached
            assert authenticate(key)[0] == member
        revoke_api_token(token_id=token.pk, actor=member)
        with pytest.raises(AuthenticationFailed):
            authenticate(key)

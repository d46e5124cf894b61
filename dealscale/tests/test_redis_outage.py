"""With Redis down, pages and APIs that only use the cache keep answering from the database."""

import copy

import pytest

from accounts.services import create_api_token
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def dead_cache(settings):
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["LOCATION"] = "redis://127.0.0.1:1/0"
    settings.CACHES = caches


def test_the_profile_page_renders_with_the_cache_down(client, dead_cache):
    user = UserFactory()
    client.force_login(user)
    response = client.get("/profile/")
    assert response.status_code == 200
    assert user.username in response.content.decode()


def test_the_api_answers_with_the_cache_down(client, dead_cache):
    _, key = create_api_token(user=UserFactory())
    assert client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    assert client.get("/api/leaderboard", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200

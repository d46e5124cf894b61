"""The read API: leaderboard pages (validation, document, cache and its fallback), /me and history."""

import pytest
import redis
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.services import create_api_token
from accounts.tests.factories import DiscordAccountFactory, UserFactory
from leaderboard import page_cache, services, throttling
from leaderboard.tests.factories import give

pytestmark = pytest.mark.django_db

DEAD_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
    }
}


@pytest.fixture
def ranked(member):
    linked = DiscordAccountFactory(
        user=UserFactory(username="linked", display_name=""),
        extra_data={"id": "1", "avatar": "abc123", "global_name": "Linky"},
    )
    give(linked.user, 50)
    give(member, 20)
    services.recalculate_leaderboard()
    return linked


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=101",
        "limit=abc",
        "offset=-1",
        "offset=x",
        "period=year",
        # Unicode digits: str.isdigit() accepts them but they are not ASCII integers.
        "limit=²",
        "offset=²",
        "limit=١٠",
        "offset=١٠",
        "limit=",
        "offset=",
        "period=",
        "limit=+10",
        "limit= 10",
        f"offset={'1' * 5000}",
    ],
)
def test_invalid_query_parameters_are_a_400_naming_the_parameter(api, query):
    response = api.get(f"/api/leaderboard?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()


def test_the_leaderboard_document_lists_entries_with_their_user(api, ranked, member):
    response = api.get("/api/leaderboard?limit=10&offset=0&period=all")
    assert response.status_code == 200
    document = response.json()
    assert document["period"] == "all" and document["count"] == 2 and document["generated_at"].endswith("Z")
    assert document["results"] == [
        {
            "rank": 1,
            "previous_rank": None,
            "score": 50,
            "user": {
                "id": ranked.user.pk,
                "username": "linked",
                "display_name": "Linky",
                "discord_id": ranked.uid,
                "avatar_url": f"https://cdn.discordapp.com/avatars/{ranked.uid}/abc123.png",
            },
        },
        {
            "rank": 2,
            "previous_rank": None,
            "score": 20,
            "user": {
                "id": member.pk,
                "username": "viewer",
                "display_name": "The Viewer",
                "discord_id": None,
                "avatar_url": None,
            },
        },
    ]


def test_offset_and_limit_page_through_the_entries(api, ranked, member):
    document = api.get("/api/leaderboard?limit=1&offset=1").json()
    assert [entry["user"]["id"] for entry in document["results"]] == [member.pk]


def test_the_api_requires_a_token(client):
    assert client.get("/api/leaderboard").status_code == 401


def test_each_recalculation_refreshes_the_cached_page(api, ranked, member):
    before = api.get("/api/leaderboard").json()
    give(member, 100)
    services.recalculate_leaderboard()
    after = api.get("/api/leaderboard").json()
    assert before["results"][0]["user"]["id"] == ranked.user.pk
    assert after["results"][0]["user"]["id"] == member.pk
    assert after["results"][0]["previous_rank"] == 2


def test_common_pages_are_served_from_the_cache_without_the_database(
    api, ranked, django_assert_max_num_queries
):
    api.get("/api/leaderboard")  # authenticates once; the page itself comes from the cache
    with django_assert_max_num_queries(2):  # the token lookup and its user: nothing for the page
        response = api.get("/api/leaderboard?limit=25")
    assert response.json()["count"] == 2


def test_an_uncommon_page_is_cached_for_its_generation_on_first_read(api, ranked):
    api.get("/api/leaderboard?limit=7&offset=1")
    live = cache.get("leaderboard:live:all")
    assert cache.get(f"leaderboard:page:{live}:7:1") is not None


def test_with_redis_down_the_api_answers_from_the_database(api, ranked, member, monkeypatch):
    dead = redis.Redis(port=1, socket_connect_timeout=0.2)
    monkeypatch.setattr(throttling, "get_redis", lambda: dead)  # the throttle counters are down too
    with override_settings(CACHES=DEAD_REDIS):
        response = api.get("/api/leaderboard?limit=10")
        assert response.status_code == 200
        assert [e["user"]["id"] for e in response.json()["results"]] == [ranked.user.pk, member.pk]


def test_a_recalculation_with_redis_down_publishes_and_the_next_run_repairs_the_cache(api, ranked, member):
    give(member, 100)
    with override_settings(CACHES=DEAD_REDIS):
        services.recalculate_leaderboard()
        assert api.get("/api/leaderboard").json()["results"][0]["user"]["id"] == member.pk
    assert all(outcome.skipped for outcome in services.recalculate_leaderboard())
    assert api.get("/api/leaderboard").json()["results"][0]["user"]["id"] == member.pk


def test_me_returns_the_callers_entry(api, ranked, member):
    document = api.get("/api/leaderboard/me").json()
    assert (document["rank"], document["score"], document["period"]) == (2, 20, "all")
    assert document["user"]["id"] == member.pk


def test_me_for_an_unranked_member_says_so(api):
    services.recalculate_leaderboard()
    response = api.get("/api/leaderboard/me")
    assert response.status_code == 404
    assert "not ranked in the 'all' leaderboard yet" in response.json()["detail"]


def test_history_lists_one_point_per_day(api, ranked, member):
    document = api.get(f"/api/leaderboard/users/{member.pk}/history?days=30").json()
    assert document["user_id"] == member.pk and document["days"] == 30
    assert [(p["rank"], p["score"]) for p in document["results"]] == [(2, 20)]


@pytest.mark.parametrize(
    "query",
    ["days=0", "days=366", "days=x", "period=year", "days=²", "days=١٠", "days=", "days=10.0", "period="],
)
def test_history_validates_its_parameters(api, member, query):
    response = api.get(f"/api/leaderboard/users/{member.pk}/history?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()


@pytest.mark.parametrize("query", ["period=", "period=year"])
def test_me_validates_its_period(api, query):
    response = api.get(f"/api/leaderboard/me?{query}")
    assert response.status_code == 400
    assert "period" in response.json()


def test_history_of_a_user_id_beyond_the_database_range_is_a_404(api):
    assert api.get(f"/api/leaderboard/users/{10**30}/history").status_code == 404


def test_history_of_an_unknown_user_is_a_404(api):
    assert api.get("/api/leaderboard/users/999999/history").status_code == 404


def test_reads_are_limited_per_user_with_a_retry_after(api, ranked, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "3/minute"},
    }
    statuses = [api.get("/api/leaderboard").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert 0 < int(api.get("/api/leaderboard/me")["Retry-After"]) <= 60


def test_reads_are_limited_per_client_address_across_users(api, ranked, member, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "ip": "2/minute"},
    }
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {create_api_token(user=UserFactory())[1]}")
    assert [api.get("/api/leaderboard").status_code, other.get("/api/leaderboard").status_code] == [200, 200]
    assert other.get("/api/leaderboard").status_code == 429


def test_a_process_reuses_a_page_for_a_second_then_asks_the_cache_again(api, ranked, member, monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(page_cache, "monotonic", lambda: clock[0])
    first = api.get("/api/leaderboard").json()
    with monkeypatch.context() as elsewhere:  # the recalculation runs in another process
        elsewhere.setattr(page_cache, "forget_local_pages", lambda: None)
        give(member, 100)
        services.recalculate_leaderboard()
    assert api.get("/api/leaderboard").json() == first
    clock[0] += page_cache.LOCAL_SECONDS
    assert api.get("/api/leaderboard").json()["results"][0]["user"]["id"] == member.pk

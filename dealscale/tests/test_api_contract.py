"""One JSON error shape for every 4xx/5xx under /api/, and a schema that says what the API enforces.

What schemathesis found (issue 13) and was fixed, each pinned here by the request that showed it.
"""

import json
import re

import pytest
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponse
from django.test import RequestFactory
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework import serializers
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView

from accounts.services import create_api_token
from accounts.tests.factories import UserFactory
from credits.tests.factories import ModeratorFactory
from dealscale.api import (
    DATABASE_RETRY_AFTER_SECONDS,
    WHITESPACE_CLASS,
    LimitOffsetPagination,
    StrictIntegerField,
    TextField,
    trimmed_text_pattern,
)
from dealscale.errors import Unavailable
from dealscale.middleware import DatabaseOutageMiddleware
from dealscale.views import not_found, server_error

OUTAGES = [
    OperationalError("server closed the connection unexpectedly"),
    InterfaceError("connection already closed"),
]


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {create_api_token(user=user)[1]}")
    return client


@pytest.fixture
def member_api(db):
    return client_for(UserFactory())


@pytest.fixture
def moderator_api(db):
    return client_for(ModeratorFactory())


# --- Unmatched paths and methods -------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/admin/credit-requests/null,null/approve",
        "/api/credit-requests/-1/cancel",
        "/api/tokens/1.5",
        "/api/no-such-endpoint",
        "/api/schema",
    ],
)
@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_a_path_no_route_matches_under_api_is_a_json_404(member_api, path, method):
    # A session cookie would make Django's CSRF check answer a POST with its HTML page first.
    member_api.cookies["sessionid"] = "not-a-session"
    response = getattr(member_api, method)(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "No API endpoint at this path.", "code": "not_found"}


def test_a_method_an_endpoint_does_not_have_is_a_json_405_naming_the_allowed_ones(member_api):
    response = member_api.put("/api/me", {}, format="json")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert response["Allow"] == "GET, HEAD, OPTIONS"


def test_djangos_own_404_and_500_answer_api_paths_in_the_api_shape_and_pages_as_pages(db):
    api, page = RequestFactory().get("/api/x"), RequestFactory().get("/x")

    assert json.loads(not_found(api, Http404()).content)["code"] == "not_found"
    assert json.loads(server_error(api).content) == {
        "detail": "Something went wrong on our side; it has been reported.",
        "code": "server_error",
    }
    assert not_found(page, Http404())["Content-Type"].startswith("text/html")
    assert server_error(page)["Content-Type"].startswith("text/html")


# --- A lost database connection ------------------------------------------------------------------


class RaisingView(APIView):
    authentication_classes = []
    permission_classes = []
    error: Exception | None = None

    def get(self, request):
        raise self.error


@pytest.mark.parametrize("outage", OUTAGES, ids=["operational", "interface"])
def test_a_lost_database_connection_in_an_api_view_is_a_503_with_retry_after(outage):
    response = RaisingView.as_view(error=outage)(APIRequestFactory().get("/api/x"))
    response.render()

    assert response.status_code == 503
    assert response["Retry-After"] == str(DATABASE_RETRY_AFTER_SECONDS)
    assert json.loads(response.content) == {
        "detail": "The database is unavailable; try again in a few seconds.",
        "code": "database_unavailable",
    }


def test_every_503_of_the_api_says_when_to_retry():
    response = RaisingView.as_view(error=Unavailable("Discord is down."))(APIRequestFactory().get("/api/x"))

    assert response.status_code == 503 and response["Retry-After"] == str(DATABASE_RETRY_AFTER_SECONDS)


@pytest.mark.parametrize("outage", OUTAGES, ids=["operational", "interface"])
def test_a_lost_database_connection_on_a_page_is_a_plain_503_page(outage):
    middleware = DatabaseOutageMiddleware(lambda request: HttpResponse())

    page = middleware.process_exception(RequestFactory().get("/credits/"), outage)
    api = middleware.process_exception(RequestFactory().get("/api/schema/"), outage)

    assert (page.status_code, page["Retry-After"]) == (503, str(DATABASE_RETRY_AFTER_SECONDS))
    assert page["Content-Type"].startswith("text/html") and b"try again" in page.content
    assert (api.status_code, json.loads(api.content)["code"]) == (503, "database_unavailable")
    assert middleware.process_exception(RequestFactory().get("/"), ValueError("a bug")) is None


# --- Throttles ---------------------------------------------------------------------------------------


def test_a_throttled_call_is_a_429_in_the_error_shape_with_retry_after(member_api, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "1/minute"},
    }
    assert member_api.get("/api/me").status_code == 200

    response = member_api.get("/api/me")

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60


# --- Inputs: what the schema declares is what is enforced ---------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["status=", "limit=0", "limit=abc", "limit=1.0", "limit=²", "offset=-1", "offset=10000001", "offset="],
)
def test_a_list_refuses_a_parameter_its_schema_refuses(moderator_api, query):
    response = moderator_api.get(f"/api/admin/credit-requests?{query}")

    assert response.status_code == 400
    assert set(response.json()) == {query.partition("=")[0]}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"amount": "5", "reason": "Organised the community meetup"}, "amount"),
        ({"amount": 5.0, "reason": "Organised the community meetup"}, "amount"),
        ({"amount": True, "reason": "Organised the community meetup"}, "amount"),
        ({"amount": 5, "reason": 12345678901}, "reason"),
        ({"amount": 5, "reason": "Organised\x00 the meetup"}, "reason"),
        ({"amount": 5, "reason": "x" * 501}, "reason"),
    ],
)
def test_a_credit_request_refuses_a_json_value_of_another_type_or_shape(member_api, payload, field):
    response = member_api.post("/api/credit-requests", payload, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {field}


def test_a_role_sync_refuses_ids_given_as_strings(db):
    client = client_for(UserFactory(is_staff=True))

    response = client.post("/admin/discord/sync-roles", {"user_ids": ["1"]}, format="json")

    assert (response.status_code, list(response.json())) == (400, ["user_ids"])


def schema_of(client) -> dict:
    return client.get("/api/schema/?format=json").json()


def test_the_schema_states_the_request_bounds_the_settings_set(member_api, settings):
    settings.CREDITS_MAX_REQUEST = 750

    amount = schema_of(member_api)["components"]["schemas"]["CreditRequestInputRequest"]["properties"][
        "amount"
    ]

    assert (amount["minimum"], amount["maximum"]) == (1, 750)
    assert member_api.post(
        "/api/credit-requests", {"amount": 751, "reason": "x" * 10}, format="json"
    ).json() == {"amount": ["The amount must be a whole number from 1 to 750 (CREDITS_MAX_REQUEST)."]}


def test_every_api_operation_documents_its_errors_in_the_one_shape(member_api):
    schema = schema_of(member_api)
    error_refs = {"#/components/schemas/Error", "#/components/schemas/FieldErrors"}

    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"401", "406", "503"} <= set(responses), (method, path)
            for status in ("429", "503"):
                if status in responses:
                    assert responses[status]["headers"]["Retry-After"]["required"] is True
            for status, response in responses.items():
                if status >= "400":
                    assert error_refs & set(
                        re.findall(r'"(#/components/schemas/[A-Za-z]+)"', json.dumps(response))
                    )


def test_an_empty_status_filter_is_documented_as_refused(member_api):
    [operation] = schema_of(member_api)["paths"]["/api/admin/credit-requests"].values()
    [status] = [p for p in operation["parameters"] if p["name"] == "status"]

    assert "" not in status["schema"]["enum"]


# --- The fields behind it ------------------------------------------------------------------------------

WHITESPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
TEXT = st.text(alphabet=st.one_of(st.sampled_from(WHITESPACE + "\x00\ufeff"), st.characters(codec="utf-8")))


def test_the_whitespace_class_is_exactly_what_str_strip_removes():
    assert re.fullmatch(f"[{WHITESPACE_CLASS}]+", WHITESPACE)
    assert not any(
        re.fullmatch(f"[{WHITESPACE_CLASS}]", chr(c)) for c in range(0x110000) if not chr(c).isspace()
    )


@pytest.mark.parametrize(("min_length", "max_length"), [(0, None), (1, 100), (10, 40), (2, 2)])
def test_a_text_field_accepts_exactly_what_its_documented_pattern_and_max_length_accept(
    min_length, max_length
):
    pattern = re.compile(trimmed_text_pattern(min_length=min_length))

    class Input(serializers.Serializer):
        text = TextField(min_length=min_length, max_length=max_length)

    @settings(max_examples=400, deadline=None, derandomize=True, database=None)
    @given(TEXT.filter(lambda text: max_length is None or len(text) <= max_length + 3))
    def accepted_iff_documented(text):
        documented = (text == "" and min_length == 0) or (
            pattern.search(text) is not None and (max_length is None or len(text) <= max_length)
        )
        assert Input(data={"text": text}).is_valid() == documented

    accepted_iff_documented()


@given(st.one_of(st.integers(), st.floats(), st.text(), st.booleans(), st.none(), st.lists(st.integers())))
@settings(max_examples=200, deadline=None, derandomize=True, database=None)
def test_a_strict_integer_field_takes_json_integers_only(value):
    class Input(serializers.Serializer):
        number = StrictIntegerField()

    is_integer = isinstance(value, int) and not isinstance(value, bool)
    assert Input(data={"number": value}).is_valid() == is_integer


def test_the_pagination_documents_its_bounds():
    limit, offset = LimitOffsetPagination().get_schema_operation_parameters(view=None)

    assert (limit["schema"]["minimum"], offset["schema"]["minimum"], offset["schema"]["maximum"]) == (
        1,
        0,
        10**7,
    )
    assert "more than 100 gives 100" in limit["description"]

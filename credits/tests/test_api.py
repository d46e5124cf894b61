import pytest
from rest_framework.test import APIClient

from accounts.models import AuditEvent
from accounts.services import create_api_token
from credits import selectors, services
from credits.models import CreditRequest, LedgerEntry
from credits.tests.factories import CreditRequestFactory, ModeratorFactory, UserFactory

pytestmark = pytest.mark.django_db

REQUEST_KEYS = {"id", "amount", "reason", "status", "source", "created_at", "decided_at", "decision_note"}
REASON = "Organised the community meetup"


def client_for(user) -> APIClient:
    _, key = create_api_token(user=user, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def member():
    return UserFactory()


@pytest.fixture
def member_api(member):
    return client_for(member)


@pytest.fixture
def moderator():
    return ModeratorFactory()


@pytest.fixture
def moderator_api(moderator):
    return client_for(moderator)


# --- Members -----------------------------------------------------------------------------------


def test_a_member_files_a_request_and_gets_201_with_it(member_api, member):
    response = member_api.post("/api/credit-requests", {"amount": 1500, "reason": REASON}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == REQUEST_KEYS
    assert body | {"id": None, "created_at": None} == {
        "id": None,
        "amount": 1500,
        "reason": REASON,
        "status": "pending",
        "source": "api",
        "created_at": None,
        "decided_at": None,
        "decision_note": "",
    }
    assert CreditRequest.objects.get(pk=body["id"]).user == member


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"amount": "abc", "reason": REASON}, {"amount"}),
        ({"amount": 12.5, "reason": REASON}, {"amount"}),
        ({"amount": 10**30, "reason": REASON}, {"amount"}),
        ({"amount": 0, "reason": REASON}, {"amount"}),
        ({"amount": 10, "reason": "short"}, {"reason"}),
        ({"amount": 10, "reason": ["a list"]}, {"reason"}),
        ({}, {"amount", "reason"}),
        ({"amount": None, "reason": None}, {"amount", "reason"}),
    ],
)
def test_bad_input_is_a_400_with_per_field_errors(member_api, payload, fields):
    response = member_api.post("/api/credit-requests", payload, format="json")
    assert response.status_code == 400
    assert set(response.json()) == fields
    assert not CreditRequest.objects.exists()


def test_an_amount_above_the_maximum_names_the_rule(member_api):
    response = member_api.post("/api/credit-requests", {"amount": 10_001, "reason": REASON}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "amount": ["The amount must be a whole number from 1 to 10000 (CREDITS_MAX_REQUEST)."]
    }


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        ('{"amount": ' + "9" * 5000 + ', "reason": "Organised the meetup"}', "application/json", 400),
        ("[1, 2, 3]", "application/json", 400),
        ("amount=5", "text/plain", 415),
    ],
)
def test_a_malformed_body_is_a_client_error_not_a_500(member_api, body, content_type, status):
    response = member_api.generic("POST", "/api/credit-requests", body, content_type=content_type)
    assert response.status_code == status
    assert not CreditRequest.objects.exists()


def test_a_refused_limit_is_a_400_naming_the_rule(member_api, member):
    CreditRequestFactory(user=member)
    response = member_api.post("/api/credit-requests", {"amount": 5, "reason": REASON}, format="json")
    assert response.status_code == 400
    assert response.json()["rule"] == "CREDITS_MAX_PENDING"
    assert "CREDITS_MAX_PENDING" in response.json()["detail"]


def test_members_list_only_their_own_requests_paginated(member_api, member, settings):
    settings.CREDITS_MAX_PENDING = 5
    mine = [CreditRequestFactory(user=member, amount=n) for n in (1, 2, 3)]
    CreditRequestFactory()
    response = member_api.get("/api/credit-requests?limit=2")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3 and body["next"] and body["previous"] is None
    assert [r["id"] for r in body["results"]] == [mine[2].pk, mine[1].pk]
    assert set(body["results"][0]) == REQUEST_KEYS


def test_a_page_never_holds_more_than_100_requests(moderator_api):
    CreditRequestFactory.create_batch(105)
    body = moderator_api.get("/api/admin/credit-requests?limit=100000").json()
    assert (body["count"], len(body["results"])) == (105, 100)


def test_the_balance_shows_the_granted_credits_and_pending_requests(member_api, member, moderator):
    services.approve_request(CreditRequestFactory(user=member, amount=300).pk, actor=moderator, source="api")
    pending = CreditRequestFactory(user=member, amount=40)
    response = member_api.get("/api/credits/balance")
    assert response.status_code == 200
    body = response.json()
    assert body["balance"] == 300
    assert [r["id"] for r in body["pending"]] == [pending.pk]
    assert set(body["pending"][0]) == REQUEST_KEYS


def test_a_member_cancels_their_pending_request(member_api, member):
    credit_request = CreditRequestFactory(user=member)
    response = member_api.post(f"/api/credit-requests/{credit_request.pk}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled" and response.json()["decided_at"]
    assert AuditEvent.objects.get(action="credit_request.cancelled").source == "api"


def test_cancelling_someone_elses_or_an_unknown_request_is_404(member_api):
    others = CreditRequestFactory()
    assert member_api.post(f"/api/credit-requests/{others.pk}/cancel").status_code == 404
    assert member_api.post("/api/credit-requests/987654/cancel").status_code == 404
    others.refresh_from_db()
    assert others.status == "pending"


def test_cancelling_a_decided_request_is_409(member_api, member, moderator):
    credit_request = CreditRequestFactory(user=member)
    services.approve_request(credit_request.pk, actor=moderator, source="admin")
    response = member_api.post(f"/api/credit-requests/{credit_request.pk}/cancel")
    assert response.status_code == 409
    assert "already approved" in response.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/credits/balance"),
        ("get", "/api/credit-requests"),
        ("post", "/api/credit-requests"),
        ("post", "/api/credit-requests/1/cancel"),
        ("get", "/api/admin/credit-requests"),
        ("post", "/api/admin/credit-requests/1/approve"),
        ("post", "/api/admin/credit-requests/1/deny"),
    ],
)
def test_every_endpoint_answers_401_without_a_valid_token(method, path):
    assert getattr(APIClient(), method)(path).status_code == 401
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer dsk_not-a-real-token")
    assert getattr(client, method)(path).status_code == 401


# --- Moderators --------------------------------------------------------------------------------


def test_moderators_list_requests_filtered_by_status(moderator_api):
    pending = CreditRequestFactory()
    decided = CreditRequestFactory(status="denied", decided_at="2026-11-20T10:00:00Z", decision_note="Late")
    response = moderator_api.get("/api/admin/credit-requests?status=pending")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["id"] for r in results] == [pending.pk]
    assert results[0]["user"] == {"id": pending.user_id, "username": pending.user.username}
    all_ids = [r["id"] for r in moderator_api.get("/api/admin/credit-requests").json()["results"]]
    assert set(all_ids) == {pending.pk, decided.pk}


def test_an_unknown_status_filter_is_a_400(moderator_api):
    response = moderator_api.get("/api/admin/credit-requests?status=lost")
    assert response.status_code == 400
    assert set(response.json()) == {"status"}


def test_a_moderator_approves_with_200_then_gets_409(moderator_api, moderator):
    credit_request = CreditRequestFactory(amount=800)
    url = f"/api/admin/credit-requests/{credit_request.pk}/approve"
    response = moderator_api.post(url, {"note": "Thanks!"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["status"], body["decision_note"]) == (credit_request.pk, "approved", "Thanks!")
    assert REQUEST_KEYS <= set(body)
    assert selectors.balance_for(credit_request.user) == 800

    again = moderator_api.post(url, {}, format="json")
    assert again.status_code == 409
    assert "already approved" in again.json()["detail"]
    assert LedgerEntry.objects.filter(request=credit_request).count() == 1
    event = AuditEvent.objects.get(action="credit_request.approved")
    assert (event.actor, event.source, event.ip_address) == (moderator, "api", "127.0.0.1")


def test_approving_without_a_body_is_fine(moderator_api):
    credit_request = CreditRequestFactory()
    response = moderator_api.post(f"/api/admin/credit-requests/{credit_request.pk}/approve")
    assert response.status_code == 200 and response.json()["decision_note"] == ""


def test_a_denial_needs_a_note(moderator_api):
    credit_request = CreditRequestFactory()
    url = f"/api/admin/credit-requests/{credit_request.pk}/deny"
    missing = moderator_api.post(url, {}, format="json")
    assert missing.status_code == 400
    assert missing.json() == {"note": ["A reason is required to deny a request."]}
    response = moderator_api.post(url, {"note": "No proof attached"}, format="json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["decision_note"]) == ("denied", "No proof attached")
    assert moderator_api.post(url, {"note": "Again"}, format="json").status_code == 409


def test_deciding_an_unknown_request_is_404(moderator_api):
    assert moderator_api.post("/api/admin/credit-requests/424242/approve").status_code == 404
    assert moderator_api.post("/api/admin/credit-requests/424242/deny", {"note": "x"}).status_code == 404


def test_members_and_staff_without_the_permission_get_403_on_moderation(member_api):
    credit_request = CreditRequestFactory()
    staff_api = client_for(UserFactory(is_staff=True))
    for client in (member_api, staff_api):
        assert client.get("/api/admin/credit-requests").status_code == 403
        assert client.post(f"/api/admin/credit-requests/{credit_request.pk}/approve").status_code == 403
        assert (
            client.post(f"/api/admin/credit-requests/{credit_request.pk}/deny", {"note": "no"}).status_code
            == 403
        )
    credit_request.refresh_from_db()
    assert credit_request.status == "pending"


def test_the_openapi_schema_documents_the_credit_endpoints(member_api):
    response = member_api.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/credits/balance",
        "/api/credit-requests",
        "/api/credit-requests/{request_id}/cancel",
        "/api/admin/credit-requests",
        "/api/admin/credit-requests/{request_id}/approve",
        "/api/admin/credit-requests/{request_id}/deny",
    ):
        assert path in paths
    listing = paths["/api/credit-requests"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"limit", "offset"}
    assert "requestBody" in paths["/api/credit-requests"]["post"]
    scheme = response.json()["components"]["securitySchemes"]["bearerAuth"]
    assert scheme == {"type": "http", "scheme": "bearer"}
    assert {"bearerAuth": []} in paths["/api/credits/balance"]["get"]["security"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/credit-requests/99999999999999999999999/cancel",
        "/api/admin/credit-requests/99999999999999999999999/approve",
        "/api/admin/credit-requests/99999999999999999999999/deny",
    ],
)
def test_an_id_beyond_the_database_range_is_404_not_500(moderator_api, path):
    assert moderator_api.post(path, {"note": "Out of range"}, format="json").status_code == 404


def test_the_moderation_permission_without_staff_status_is_refused_403():
    from django.contrib.auth.models import Permission

    not_staff = UserFactory()
    not_staff.user_permissions.add(Permission.objects.get(codename="moderate_creditrequest"))
    request = CreditRequestFactory()
    api = client_for(not_staff)
    assert api.get("/api/admin/credit-requests").status_code == 403
    assert (
        api.post(f"/api/admin/credit-requests/{request.pk}/approve", {"note": ""}, format="json").status_code
        == 403
    )
    request.refresh_from_db()
    assert request.status == "pending"


def test_a_body_nested_past_the_json_decoders_limit_is_a_400(member_api):
    response = member_api.post(
        "/api/credit-requests", b'{"amount": ' + b"[" * 100_000, content_type="application/json"
    )
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]

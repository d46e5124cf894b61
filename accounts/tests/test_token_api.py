import pytest
from rest_framework.test import APIClient

from accounts.models import APIToken, AuditEvent, User
from accounts.services import create_api_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    return User.objects.create_user("tokenowner", "owner@example.com", "pw-123456789")


def bearer_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def session_client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_owners_list_only_their_active_tokens_without_secrets(member):
    laptop, key = create_api_token(user=member, name="laptop")
    revoked, _ = create_api_token(user=member, name="old")
    revoked.revoked_at = revoked.created_at
    revoked.save()
    create_api_token(user=User.objects.create_user("someone", "s@example.com", "pw-123456789"))

    response = bearer_client(key).get("/api/tokens")

    assert response.status_code == 200
    assert response.json()["count"] == 1
    [row] = response.json()["results"]
    assert set(row) == {"id", "name", "prefix", "created_at", "last_used_at"}
    assert (row["id"], row["name"], row["prefix"]) == (laptop.pk, "laptop", laptop.prefix)


def test_a_signed_in_owner_creates_a_token_shown_once_that_works(member):
    response = session_client(member).post("/api/tokens", {"name": "ci"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "ci" and body["token"].startswith(body["prefix"])
    assert APIToken.objects.get(pk=body["id"]).key_hash == APIToken.hash_key(body["token"])
    assert bearer_client(body["token"]).get("/api/tokens").status_code == 200
    assert AuditEvent.objects.filter(
        action="api_token.created", target_id=str(body["id"]), source="api"
    ).exists()


def test_a_token_cannot_mint_more_tokens(member):
    _, key = create_api_token(user=member)
    response = bearer_client(key).post("/api/tokens", {"name": "sneaky"}, format="json")
    assert response.status_code == 403
    assert APIToken.objects.filter(user=member).count() == 1


def test_a_token_name_over_100_characters_is_a_400(member):
    response = session_client(member).post("/api/tokens", {"name": "n" * 101}, format="json")
    assert response.status_code == 400 and set(response.json()) == {"name"}


def test_owners_revoke_their_token_and_it_stops_working(member):
    token, key = create_api_token(user=member)
    response = bearer_client(key).delete(f"/api/tokens/{token.pk}")
    assert response.status_code == 204
    assert bearer_client(key).get("/api/tokens").status_code == 401
    assert AuditEvent.objects.filter(action="api_token.revoked", source="api").count() == 1


def test_members_cannot_revoke_others_tokens_but_staff_can(member):
    other_token, other_key = create_api_token(
        user=User.objects.create_user("other", "o@example.com", "pw-123456789")
    )
    _, key = create_api_token(user=member)
    assert bearer_client(key).delete(f"/api/tokens/{other_token.pk}").status_code == 404
    assert bearer_client(other_key).get("/api/tokens").status_code == 200

    staff = User.objects.create_user("staff", "staff@example.com", "pw-123456789", is_staff=True)
    assert session_client(staff).delete(f"/api/tokens/{other_token.pk}").status_code == 204
    assert bearer_client(other_key).get("/api/tokens").status_code == 401


def test_the_token_api_needs_authentication():
    assert APIClient().get("/api/tokens").status_code == 401
    assert APIClient().post("/api/tokens", {}, format="json").status_code == 401
    assert APIClient().delete("/api/tokens/1").status_code == 401

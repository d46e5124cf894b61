import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from accounts.authentication import BearerTokenAuthentication
from accounts.errors import TokenNotFound
from accounts.models import APIToken, AuditEvent, User
from accounts.services import create_api_token, revoke_api_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    return User.objects.create_user("member", "member@example.com", "pw-123456789")


def authenticate(key):
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    request = Request(APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {key}"))
    return BearerTokenAuthentication().authenticate(request)


def test_a_token_is_stored_only_as_its_hash(member):
    token, key = create_api_token(user=member, name="laptop")
    stored = APIToken.objects.get(pk=token.pk)
    assert key not in (stored.key_hash, stored.prefix)
    assert stored.key_hash == APIToken.hash_key(key)
    assert key.startswith(stored.prefix)


def test_bearer_authentication_finds_the_user_and_rejects_revoked_tokens(member):
    token, key = create_api_token(user=member)
    user, auth = authenticate(key)
    assert (user, auth) == (member, token)

    revoke_api_token(token_id=token.pk, actor=member)
    from rest_framework.exceptions import AuthenticationFailed

    with pytest.raises(AuthenticationFailed):
        authenticate(key)
    assert AuditEvent.objects.filter(action="api_token.revoked", target_id=str(token.pk)).exists()


def test_members_cannot_revoke_each_others_tokens(member):
    other = User.objects.create_user("other", "other@example.com", "pw-123456789")
    token, _ = create_api_token(user=other)
    with pytest.raises(TokenNotFound):
        revoke_api_token(token_id=token.pk, actor=member)


def test_an_unauthenticated_api_call_gets_401_with_the_bearer_challenge():
    response = APIClient().get("/api/schema/", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_create_api_token_prints_the_token_alone_on_its_last_line(member, capsys):
    call_command("create_api_token", "member", "--name", "ci")
    last_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert APIToken.objects.get(name="ci").key_hash == APIToken.hash_key(last_line)


def test_create_api_token_for_an_unknown_user_is_a_clear_error():
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        call_command("create_api_token", "ghost")


def test_audit_events_cannot_be_changed_or_deleted(member):
    from accounts.services import record_audit_event

    event = record_audit_event(actor=member, action="test.action", source="web", target=member)
    event.action = "tampered"
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "test.action"


def test_staff_revoke_tokens_from_the_admin_list_through_the_service(client, member):
    admin_user = User.objects.create_superuser("root", "root@example.com", "pw-123456789")
    token, _ = create_api_token(user=member, name="laptop")
    client.force_login(admin_user)

    response = client.post(
        "/admin/accounts/apitoken/",
        {"action": "revoke_tokens", "_selected_action": [token.pk]},
        follow=True,
    )

    assert "Revoked 1 token(s)." in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    event = AuditEvent.objects.get(action="api_token.revoked", target_id=str(token.pk))
    assert (event.actor, event.source) == (admin_user, "admin")

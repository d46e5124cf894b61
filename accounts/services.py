"""Writes of the accounts app: API tokens, the audit trail, OAuth outcomes."""

from datetime import timedelta
from typing import Any

from django.db import models
from django.utils import timezone

from accounts.models import APIToken, AuditEvent, OAuthAttempt, User


class TokenNotFound(Exception):
    """No active token with that id belongs to the caller."""


def create_api_token(*, user: User, name: str = "default") -> tuple[APIToken, str]:
    """Create a token for `user`; returns the row and the clear key, which is never stored."""
    key = APIToken.generate_key()
    token = APIToken.objects.create(
        user=user, name=name or "default", prefix=key[:12], key_hash=APIToken.hash_key(key)
    )
    return token, key


def revoke_api_token(*, token_id: int, actor: User, source: str = AuditEvent.Source.WEB) -> APIToken:
    """Revoke a token owned by `actor` (or any token, for staff). Raises TokenNotFound."""
    tokens = APIToken.objects.filter(pk=token_id, revoked_at__isnull=True)
    if not actor.is_staff:
        tokens = tokens.filter(user=actor)
    token = tokens.first()
    if token is None:
        raise TokenNotFound(f"No active API token with id {token_id}.")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    record_audit_event(actor=actor, action="api_token.revoked", target=token, source=source)
    return token


def touch_api_token(token: APIToken) -> None:
    """Record a use of `token`, at most once a minute so reads do not turn into writes."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        APIToken.objects.filter(pk=token.pk).update(last_used_at=now)


def record_audit_event(
    *,
    actor: User | None,
    action: str,
    source: str,
    target: models.Model | None = None,
    data: dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> AuditEvent:
    """Append one audit event; call it inside the transaction of the action it records."""
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        actor_repr=str(actor) if actor is not None else "",
        action=action,
        target_type=target._meta.label if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:200] if target is not None else "",
        data=data or {},
        source=source,
        ip_address=ip_address,
    )


def record_oauth_attempt(*, succeeded: bool, error: str = "", provider: str = "discord") -> OAuthAttempt:
    """Record one OAuth callback outcome."""
    return OAuthAttempt.objects.create(provider=provider, succeeded=succeeded, error=error[:200])

"""DRF authentication of the score-events webhook: a service key AND a body signature."""

import structlog
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import authentication, exceptions, permissions

from accounts.authentication import bearer_credential
from leaderboard.models import ServiceKey
from leaderboard.signing import (
    SIGNATURE_HEADER,
    InvalidSignature,
    UndecryptableSecret,
    decrypt_secret,
    verify,
)

logger = structlog.get_logger(__name__)


class ServiceKeySignatureAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <service key>` plus `X-DealScale-Signature` over the raw body.

    Both are checked before the body is parsed, so a failed check stores nothing.
    """

    keyword = "Bearer"

    def authenticate(self, request):
        key = bearer_credential(request, name="service key")
        if key is None:
            return None
        service_key = ServiceKey.objects.filter(
            key_hash=ServiceKey.hash_key(key), revoked_at__isnull=True
        ).first()
        if service_key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked service key.")
        try:
            secret = decrypt_secret(service_key.encrypted_secret)
        except UndecryptableSecret:
            # SECRET_KEY was rotated without the old one in SECRET_KEY_FALLBACKS: only an operator can
            # repair that (restore the fallback or issue a new key), so it is an error, not a warning.
            logger.error(
                "service_key_secret_undecryptable",
                service_key_id=service_key.pk,
                service_key=service_key.name,
            )
            raise exceptions.AuthenticationFailed(
                "This service key's signing secret cannot be verified: ask an administrator for a new key."
            ) from None
        try:
            verify(header=request.headers.get(SIGNATURE_HEADER), secret=secret, body=request.body)
        except InvalidSignature as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        ServiceKey.objects.filter(pk=service_key.pk).update(last_used_at=timezone.now())
        return AnonymousUser(), service_key

    def authenticate_header(self, request) -> str:
        return self.keyword


class HasServiceKey(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ServiceKey)


class ServiceKeySignatureScheme(OpenApiAuthenticationExtension):
    """Documents the webhook's scheme in /api/schema/: a bearer service key plus the signature header."""

    target_class = ServiceKeySignatureAuthentication
    name = "serviceKeySignature"

    def get_security_definition(self, auto_schema):
        definition = build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Bearer")
        definition["description"] = (
            f"A service key (manage.py create_service_key), plus {SIGNATURE_HEADER}: "
            't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the signing secret>, '
            "at most 5 minutes old."
        )
        return definition

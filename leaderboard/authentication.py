"""DRF authentication of the score-events webhook: a service key AND a body signature."""

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from leaderboard.models import ServiceKey
from leaderboard.signing import SIGNATURE_HEADER, InvalidSignature, decrypt_secret, verify


class ServiceKeySignatureAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <service key>` plus `X-DealScale-Signature` over the raw body.

    Both are checked before the body is parsed, so a failed check stores nothing.
    """

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid Authorization header: expected 'Bearer <key>'.")
        try:
            key = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("Invalid service key.") from None
        service_key = ServiceKey.objects.filter(key_hash=ServiceKey.hash_key(key), revoked_at__isnull=True).first()
        if service_key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked service key.")
        try:
            verify(
                header=request.headers.get(SIGNATURE_HEADER),
                secret=decrypt_secret(service_key.encrypted_secret),
                body=request.body,
            )
        except InvalidSignature as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        ServiceKey.objects.filter(pk=service_key.pk).update(last_used_at=timezone.now())
        return AnonymousUser(), service_key

    def authenticate_header(self, request) -> str:
        return self.keyword


class HasServiceKey(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ServiceKey)

"""DRF authentication with personal API tokens: `Authorization: Bearer <token>`."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import authentication, exceptions

from accounts.models import APIToken
from accounts.services import touch_api_token
from accounts.token_lookups import cached_active_token


def _token_for_key(key: str) -> APIToken | None:
    token, from_database = cached_active_token(key)
    if token is not None and from_database:
        # Touched on a database lookup only: last_used_at stays within a minute plus the cache's lifetime.
        touch_api_token(token)
    return token


def bearer_credential(request, *, name: str) -> str | None:
    """The credential of an `Authorization: Bearer <name>` header.

    None when the request has no Authorization header or one of another scheme (so another
    authentication class may try); AuthenticationFailed when the Bearer header is malformed.
    """
    header = authentication.get_authorization_header(request).split()
    if not header or header[0].lower() != b"bearer":
        return None
    if len(header) != 2:
        raise exceptions.AuthenticationFailed(f"Invalid Authorization header: expected 'Bearer <{name}>'.")
    try:
        return header[1].decode()
    except UnicodeError:
        raise exceptions.AuthenticationFailed(f"Invalid {name}.") from None


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        key = bearer_credential(request, name="token")
        if key is None:
            return None
        token = _token_for_key(key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        return token.user, token

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (with WWW-Authenticate) rather than 403 to anonymous callers.
        return self.keyword


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Documents the Bearer scheme in /api/schema/, so the docs page's "Authorize" button takes a token."""

    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Bearer")

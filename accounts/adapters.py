"""allauth adapters: where allauth's social login flow hands over to this project's services."""

from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialToken
from allauth.socialaccount.providers.base import AuthError

from accounts import crypto
from accounts.services import record_oauth_attempt

TOKEN_FIELDS = ("token", "token_secret")


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def pre_social_login(self, request, sociallogin) -> None:
        # Reached only after a valid state, a code exchange and a profile fetch: OAuth works,
        # whatever the outcome of the login itself (e.g. an account already linked elsewhere).
        record_oauth_attempt(succeeded=True)

    def on_authentication_error(self, request, provider, error=None, exception=None, extra_context=None):
        kind, reason = describe_authentication_error(
            request, error=error, exception=exception, context=extra_context
        )
        record_oauth_attempt(succeeded=False, error=reason)
        # allauth merges this dict into the context of socialaccount/authentication_error.html.
        if extra_context is not None:
            extra_context.update(failure_kind=kind, failure_reason=reason)

    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        user.display_name = (sociallogin.account.extra_data.get("global_name") or "")[:100]
        return user

    def serialize_instance(self, instance):
        # A sign-up that still needs an email parks the whole login, token included, in the
        # session table until the form is posted: keep the token encrypted there too.
        data = super().serialize_instance(instance)
        if isinstance(instance, SocialToken):
            for field in TOKEN_FIELDS:
                if data.get(field):
                    data[field] = crypto.encrypt(data[field])
        return data

    def deserialize_instance(self, model, data):
        if model is SocialToken:
            data = dict(data)
            for field in TOKEN_FIELDS:
                if data.get(field):
                    data[field] = crypto.decrypt(data[field])
        return super().deserialize_instance(model, data)


def describe_authentication_error(request, *, error, exception, context) -> tuple[str, str]:
    """The kind ("state", "cancelled", "discord_error", "exchange") and a short, log-safe reason
    of a failed OAuth callback (never the code or a token)."""
    context = context or {}
    if "state" not in context and "state_id" in context:
        return "state", ("state mismatched" if context["state_id"] else "state missing")
    if error == AuthError.CANCELLED:
        return "cancelled", "access_denied: the user cancelled on Discord"
    if exception is not None:
        return "exchange", f"{type(exception).__name__}: {exception}"[:200]
    discord_error = request.GET.get("error")
    if discord_error:
        return "discord_error", f"Discord returned error={discord_error}"[:200]
    return "discord_error", "callback without a code"

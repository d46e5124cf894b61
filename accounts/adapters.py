"""allauth adapters: where allauth's social login flow hands over to this project's services."""

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp, SocialToken
from allauth.socialaccount.providers.base import AuthError, AuthProcess
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render

from accounts import crypto
from accounts.fields import FERNET_PREFIX
from accounts.oauth_failures import DiscordCallbackFailed
from accounts.selectors import discord_id_for, discord_integration_enabled_for
from accounts.services import record_oauth_attempt

TOKEN_FIELDS = ("token", "token_secret")


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def list_apps(self, request, provider=None, client_id=None) -> list[SocialApp]:
        # The OAuth app comes from the environment only (SOCIALACCOUNT_PROVIDERS[...]["APPS"]).
        # allauth would also query the SocialApp table, three times per OAuth callback, and an
        # app added there in the admin would clash with the one from the environment.
        apps = []
        for provider_id, config in settings.SOCIALACCOUNT_PROVIDERS.items():
            for app_config in config.get("APPS", []):
                app = SocialApp(
                    provider=provider_id,
                    provider_id=app_config.get("provider_id", ""),
                    name=app_config.get("name", provider_id),
                    client_id=app_config["client_id"],
                    secret=app_config.get("secret", ""),
                    key=app_config.get("key", ""),
                    settings=app_config.get("settings", {}),
                )
                if provider and provider not in (app.provider, app.provider_id):
                    continue
                if client_id and app.client_id != client_id:
                    continue
                apps.append(app)
        return apps

    def pre_social_login(self, request, sociallogin) -> None:
        # Reached only after a valid state, a code exchange and a profile fetch: OAuth works,
        # whatever the outcome of the login itself (e.g. an account already linked elsewhere).
        record_oauth_attempt(succeeded=True)
        connecting = sociallogin.state.get("process") == AuthProcess.CONNECT
        if not connecting and not sociallogin.is_existing and not discord_integration_enabled_for(request):
            # A first sign-in would create an account: that is a new link, gated by the rollout.
            raise ImmediateHttpResponse(render(request, "socialaccount/discord_unavailable.html", status=403))
        if connecting and request.user.is_authenticated:
            linked_id = discord_id_for(request.user)
            if linked_id is not None and linked_id != sociallogin.account.uid:
                # allauth would add a second Discord account to the member; roles and the bot
                # expect one, so "Reconnect" with another Discord account is refused.
                messages.error(
                    request,
                    "Your DealScale account is already linked to another Discord account. "
                    "Unlink it first, or reconnect with the same Discord account.",
                )
                raise ImmediateHttpResponse(redirect("profile"))

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
                # A login parked before this encryption existed still holds clear text.
                if str(data.get(field) or "").startswith(FERNET_PREFIX):
                    data[field] = crypto.decrypt(data[field])
        return super().deserialize_instance(model, data)


def describe_authentication_error(request, *, error, exception, context) -> tuple[str, str]:
    """The kind ("state", "cancelled", "discord_error", "exchange", "profile", "unavailable") and a short,
    log-safe reason of a failed OAuth callback (never the code or a token)."""
    context = context or {}
    if "state" not in context and "state_id" in context:
        return "state", ("state mismatched" if context["state_id"] else "state missing")
    if error == AuthError.CANCELLED:
        return "cancelled", "access_denied: the user cancelled on Discord"
    if isinstance(exception, DiscordCallbackFailed):
        return exception.kind, exception.reason
    if exception is not None:
        return "exchange", f"{type(exception).__name__}: {exception}"[:200]
    discord_error = request.GET.get("error")
    if discord_error:
        return "discord_error", f"Discord returned error={discord_error}"[:200]
    return "discord_error", "callback without a code"

from allauth.socialaccount.providers.base import AuthProcess
from allauth.socialaccount.providers.discord.views import DiscordOAuth2Adapter
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from allauth.utils import get_request_param
from django.conf import settings
from django.shortcuts import render

from accounts.discord_integration import discord_sign_in_open
from accounts.oauth_failures import DiscordCallbackFailed, failed_call
from accounts.selectors import discord_integration_enabled_for
from discord_rest.client import DiscordClient, DiscordError

# A browser waits on the callback: one repeat of the profile read at most, and no 429 wait longer than this.
CALLBACK_RETRIES = 1
CALLBACK_MAX_RETRY_AFTER_SECONDS = 5.0


def callback_client() -> DiscordClient:
    """The Discord client of the OAuth callback (the one REST client, governor included)."""
    return DiscordClient(max_retries=CALLBACK_RETRIES, max_retry_after=CALLBACK_MAX_RETRY_AFTER_SECONDS)


class DealScaleDiscordOAuth2Adapter(DiscordOAuth2Adapter):
    """Discord's OAuth2 endpoints under DISCORD_API_BASE_URL, read when each request needs them."""

    @property
    def access_token_url(self) -> str:
        return f"{settings.DISCORD_API_BASE_URL}/oauth2/token"

    @property
    def authorize_url(self) -> str:
        return f"{settings.DISCORD_API_BASE_URL}/oauth2/authorize"

    @property
    def profile_url(self) -> str:
        return f"{settings.DISCORD_API_BASE_URL}/users/@me"

    def get_callback_url(self, request, app):
        # The redirect_uri must match one registered in Discord's portal byte for byte; behind a
        # proxy the URL Django would build can differ (scheme, host), so the configured one wins.
        return settings.DISCORD_REDIRECT_URI or super().get_callback_url(request, app)

    def get_access_token_data(self, request, app, client, pkce_code_verifier=None):
        """Exchange the code through discord_rest (allauth's own client reads any answer as a token).

        The client authenticates with DISCORD_CLIENT_ID/SECRET, the same variables settings.py builds the
        allauth app from. Raises DiscordCallbackFailed.
        """
        try:
            data = callback_client().exchange_code(
                code=get_request_param(request, "code"),
                redirect_uri=client.callback_url,
                code_verifier=pkce_code_verifier,
            )
        except DiscordError as error:
            raise failed_call("token exchange", error, refused_kind="exchange") from error
        if not isinstance(data, dict) or not data.get("access_token"):
            raise DiscordCallbackFailed("token exchange answered without an access token", kind="unavailable")
        self.did_fetch_access_token = True
        return data

    def parse_token(self, data):
        token = super().parse_token(data)
        # Which scopes the member granted (Discord's token answer); stored with the tokens by the receivers.
        token.granted_scope = data.get("scope", "") if isinstance(data, dict) else ""
        return token

    def complete_login(self, request, app, token, **kwargs):
        """The login of the Discord user behind `token`; allauth's reads the profile whatever its status
        (a 429 or 401 body became KeyError 'id', a 500). Raises DiscordCallbackFailed."""
        try:
            profile = callback_client().get_user_with_bearer(token.token)
        except DiscordError as error:
            raise failed_call("profile call", error, refused_kind="profile") from error
        if not isinstance(profile, dict) or not profile.get("id"):
            raise DiscordCallbackFailed("profile call answered without a user id", kind="profile")
        return self.get_provider().sociallogin_from_response(request, profile)


class DealScaleDiscordLoginView(OAuth2LoginView):
    """allauth's login view behind the `discord_integration` flag.

    Connecting is for members inside the rollout; signing in is open unless the flag is switched
    off for everyone (a new account from a first Discord sign-in is checked against the rollout in
    the adapter, once allauth knows whether the Discord account is already linked).
    """

    def dispatch(self, request, *args, **kwargs):
        process = get_request_param(request, "process", AuthProcess.LOGIN)
        allowed = (
            discord_integration_enabled_for(request)
            if process == AuthProcess.CONNECT
            else discord_sign_in_open()
        )
        if not allowed:
            return render(request, "socialaccount/discord_unavailable.html", status=403)
        return super().dispatch(request, *args, **kwargs)


oauth2_login = DealScaleDiscordLoginView.adapter_view(DealScaleDiscordOAuth2Adapter)
oauth2_callback = OAuth2CallbackView.adapter_view(DealScaleDiscordOAuth2Adapter)

from allauth.socialaccount.providers.base import AuthProcess
from allauth.socialaccount.providers.discord.views import DiscordOAuth2Adapter
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from allauth.utils import get_request_param
from django.conf import settings
from django.shortcuts import render

from accounts.discord_integration import discord_sign_in_open
from accounts.selectors import discord_integration_enabled_for


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

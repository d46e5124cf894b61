from allauth.socialaccount.providers.discord.provider import DiscordProvider

from accounts.discord_provider.views import DealScaleDiscordOAuth2Adapter


class DealScaleDiscordProvider(DiscordProvider):
    """allauth's Discord provider with URLs derived from DISCORD_API_BASE_URL."""

    # allauth imports `<package>.urls` and `<package>.views.oauth2_login/oauth2_callback`.
    package = "accounts.discord_provider"
    oauth2_adapter_class = DealScaleDiscordOAuth2Adapter

    def get_avatar_url_for(self, extra_data: dict) -> str | None:
        return None

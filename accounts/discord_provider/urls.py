from allauth.socialaccount.providers.oauth2.urls import default_urlpatterns

from accounts.discord_provider.provider import DealScaleDiscordProvider

urlpatterns = default_urlpatterns(DealScaleDiscordProvider)

from django.urls import path

from portal import views

urlpatterns = [
    path("", views.home, name="home"),
    path("profile/", views.profile, name="profile"),
    path("profile/discord/unlink/", views.unlink_discord_view, name="discord-unlink"),
    path("profile/api-tokens/", views.create_api_token_view, name="api-token-create"),
    path("profile/api-tokens/<int:token_id>/revoke/", views.revoke_api_token_view, name="api-token-revoke"),
]

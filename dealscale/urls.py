from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from dealscale import api
from ops import health
from ops import views as ops_views

urlpatterns = [
    path("health", health.liveness, name="health"),
    path("health/discord", health.discord_health, name="health-discord"),
    path("admin/discord/", include("rolesync.urls")),
    path(
        "admin/discord-health/",
        admin.site.admin_view(ops_views.discord_health_dashboard),
        name="discord-health",
    ),
    path("metrics", ops_views.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("api/", include("portal.api_urls")),
    path("api/", include("accounts.api_urls")),
    path("api/", include("credits.api_urls")),
    path("api/", include("leaderboard.api_urls")),
    path("", include("portal.urls")),
    path("", include("credits.urls")),
    path("", include("leaderboard.urls")),
    path("", include("linkedroles.urls")),
    # Last: any other /api/ path (a typo, a malformed id) answers the API's JSON 404, never a page.
    re_path(r"^api/", api.api_not_found),
]

# Outside DEBUG, Django's own 404 and 500 answer /api/ paths in the API's error shape too.
handler404 = "dealscale.views.not_found"
handler500 = "dealscale.views.server_error"

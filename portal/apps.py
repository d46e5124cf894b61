from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The member's own doors that compose several domains: home, profile and `/api/me`."""

    name = "portal"
    verbose_name = "Member portal"

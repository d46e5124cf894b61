"""System checks of the core (run by `manage.py check` and at every start of a server or command)."""

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, register


def _is_this_machine(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


@register()
def check_discord_is_not_a_sandbox_in_production(app_configs, **kwargs):
    """Production must talk to Discord: a DISCORD_API_BASE_URL on this machine is the Discord sandbox
    (`make run`, the tests), which stands in for Discord during development only."""
    if settings.DEBUG:
        return []
    url = settings.DISCORD_API_BASE_URL
    if not _is_this_machine(urlsplit(url).hostname):
        return []
    return [
        Error(
            f"DISCORD_API_BASE_URL ({url}) points at a Discord sandbox on this machine while DEBUG is off.",
            hint=(
                "The Discord sandbox is for development only. In production unset DISCORD_API_BASE_URL "
                f"(it defaults to {settings.DISCORD_API_DEFAULT_BASE_URL}) and configure the Discord application "
                "(DISCORD_CLIENT_ID, DISCORD_CLIENT_SECRET, DISCORD_BOT_TOKEN, DISCORD_GUILD_ID). See docs/sandbox.md."
            ),
            id="dealscale.E001",
        )
    ]

from django import template

from accounts.discord_integration import discord_sign_in_open
from accounts.selectors import discord_avatar_url, discord_integration_enabled_for, discord_oauth_configured

register = template.Library()


@register.simple_tag(takes_context=True)
def discord_available(context) -> bool:
    """Whether to offer a new Discord link (Connect, Sign up with Discord): the OAuth app is
    configured and the visitor is inside the `discord_integration` rollout."""
    request = context.get("request")
    return bool(
        request is not None and discord_oauth_configured() and discord_integration_enabled_for(request)
    )


@register.simple_tag
def discord_sign_in_available() -> bool:
    """Whether to offer "Log in with Discord": configured, and the flag not switched off for everyone."""
    return discord_oauth_configured() and discord_sign_in_open()


@register.filter
def discord_avatar(social_account) -> str:
    """The avatar URL of a linked Discord account (Discord's default avatar when it has none)."""
    return discord_avatar_url(
        discord_id=social_account.uid, avatar_hash=social_account.extra_data.get("avatar")
    )

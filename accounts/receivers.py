"""allauth signal receivers: copy tokens into DiscordToken and record links (connected in apps.py)."""

from allauth.account.signals import user_signed_up
from allauth.socialaccount.models import SocialLogin
from allauth.socialaccount.providers.base import AuthProcess
from allauth.socialaccount.signals import social_account_added, social_account_updated
from django.dispatch import receiver
from ipware import get_client_ip

from accounts.models import AuditEvent
from accounts.services import record_discord_link, store_discord_tokens


def _is_discord(sociallogin) -> bool:
    return sociallogin is not None and sociallogin.account.provider == "discord"


def _store_tokens(sociallogin) -> None:
    if sociallogin.token is not None:
        store_discord_tokens(social_account=sociallogin.account, token=sociallogin.token)


@receiver(social_account_added, sender=SocialLogin, dispatch_uid="accounts.discord_connected")
def on_discord_connected(request, sociallogin, **kwargs) -> None:
    """An existing user linked Discord ("Connect Discord")."""
    if not _is_discord(sociallogin):
        return
    _store_tokens(sociallogin)
    record_discord_link(
        user=sociallogin.user,
        social_account=sociallogin.account,
        source=AuditEvent.Source.WEB,
        ip_address=get_client_ip(request)[0],
    )


@receiver(user_signed_up, dispatch_uid="accounts.discord_signed_up")
def on_signed_up_with_discord(request, user, sociallogin=None, **kwargs) -> None:
    """A new account was created by a first sign-in with Discord: that is a link too."""
    if not _is_discord(sociallogin):
        return
    _store_tokens(sociallogin)
    record_discord_link(
        user=user,
        social_account=sociallogin.account,
        source=AuditEvent.Source.WEB,
        ip_address=get_client_ip(request)[0],
    )


@receiver(social_account_updated, sender=SocialLogin, dispatch_uid="accounts.discord_updated")
def on_discord_login_again(request, sociallogin, **kwargs) -> None:
    """A linked Discord account signed in (or reconnected): keep the newest tokens.

    allauth sends this while looking the account up, before it knows the outcome. When a signed-in
    member tries to connect a Discord account that belongs to someone else, the connection is then
    refused ("connected_other"), and that member's tokens must not land on the other's link.
    """
    if not _is_discord(sociallogin):
        return
    connecting = sociallogin.state.get("process") == AuthProcess.CONNECT
    if connecting and request.user != sociallogin.account.user:
        return
    _store_tokens(sociallogin)

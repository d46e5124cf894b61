"""Signal receivers (connected in apps.py): allauth's, to copy tokens into DiscordToken and record links;
the models', to forget cached bearer-token lookups when a token or its user changes."""

from allauth.account.signals import user_signed_up
from allauth.socialaccount.models import SocialLogin
from allauth.socialaccount.providers.base import AuthProcess
from allauth.socialaccount.signals import social_account_added, social_account_updated
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from ipware import get_client_ip

from accounts.models import APIToken, AuditEvent, User
from accounts.services import record_discord_link, store_discord_tokens
from accounts.signals import member_deactivated
from accounts.token_lookups import forget_token_lookups, forget_token_lookups_of_user


# Saves, not services: a revoke, a deactivation in the admin, a staff flag set from the shell all go
# through Model.save, and each must reach every web process's next request.
@receiver(post_save, sender=APIToken, dispatch_uid="accounts.token_saved")
@receiver(post_delete, sender=APIToken, dispatch_uid="accounts.token_deleted")
def on_token_changed(sender, instance: APIToken, created: bool = False, **kwargs) -> None:
    if not created:
        forget_token_lookups([instance.key_hash])


@receiver(post_save, sender=User, dispatch_uid="accounts.user_saved")
def on_user_saved(sender, instance: User, created: bool, update_fields=None, **kwargs) -> None:
    # A deleted user's tokens go with it, each through on_token_changed (the cascade sends their signals).
    if created:
        return
    forget_token_lookups_of_user(instance.pk)
    if not instance.is_active and (update_fields is None or "is_active" in update_fields):
        member_deactivated.send(sender=User, user=instance)


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

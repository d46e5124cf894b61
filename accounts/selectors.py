"""Reads of the accounts app."""

from datetime import timedelta

from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.utils import timezone

from accounts.models import APIToken, OAuthAttempt


def active_token_for_key(key: str) -> APIToken | None:
    """The active token whose clear key is `key`, with its user, or None."""
    return (
        APIToken.objects.select_related("user")
        .filter(key_hash=APIToken.hash_key(key), revoked_at__isnull=True, user__is_active=True)
        .first()
    )


def discord_oauth_configured() -> bool:
    return bool(settings.DISCORD_CLIENT_ID and settings.DISCORD_CLIENT_SECRET)


def oauth_is_working() -> bool:
    """True when the Discord OAuth app is configured and recent callbacks are not failing.

    "Failing" means at least OAUTH_FAILURE_THRESHOLD failures in the window with no success after
    the latest of them: a few users pressing "cancel" on Discord must not turn health red.
    """
    if not discord_oauth_configured():
        return False
    since = timezone.now() - timedelta(seconds=settings.OAUTH_FAILURE_WINDOW_SECONDS)
    recent = OAuthAttempt.objects.filter(created_at__gte=since)
    failures = recent.filter(succeeded=False)
    if failures.count() < settings.OAUTH_FAILURE_THRESHOLD:
        return True
    last_failure = failures.order_by("-created_at").values_list("created_at", flat=True).first()
    return recent.filter(succeeded=True, created_at__gt=last_failure).exists()


def discord_id_for(user) -> str | None:
    """The Discord user id linked to `user`, or None when not linked."""
    return SocialAccount.objects.filter(user=user, provider="discord").values_list("uid", flat=True).first()


def user_for_discord_id(discord_id: str):
    """The active user whose linked Discord account has id `discord_id`, or None."""
    account = (
        SocialAccount.objects.select_related("user")
        .filter(provider="discord", uid=str(discord_id), user__is_active=True)
        .first()
    )
    return account.user if account else None

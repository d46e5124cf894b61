"""Reads of the accounts app."""

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import waffle
from allauth.socialaccount import providers
from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Count, OuterRef, Subquery
from django.utils import timezone

from accounts import crypto
from accounts.crypto import TokenDecryptionError
from accounts.models import APIToken, AuditEvent, DiscordToken, OAuthAttempt
from dealscale.timeseries import per_bucket


def active_token_for_key(key: str) -> APIToken | None:
    """The active token whose clear key is `key`, with its user, or None."""
    return (
        APIToken.objects.select_related("user")
        .filter(key_hash=APIToken.hash_key(key), revoked_at__isnull=True, user__is_active=True)
        .first()
    )


def discord_oauth_configured() -> bool:
    return bool(settings.DISCORD_CLIENT_ID and settings.DISCORD_CLIENT_SECRET)


# OAuth health: two rules read the recorded callbacks on purpose, with their own settings.
# - The health check (/health/discord): oauth_is_working, red once OAUTH_FAILURE_THRESHOLD callbacks
#   failed within OAUTH_FAILURE_WINDOW_SECONDS and no success came after the latest of them.
# - The "Discord OAuth failing" alert: oauth_failures_for_alert / oauth_failing_for_alert, firing while
#   more than ALERT_OAUTH_FAILURES_THRESHOLD callbacks failed in the last
#   ALERT_OAUTH_FAILURES_WINDOW_SECONDS, successes or not (a burst pages even if some members get in).


def oauth_is_working() -> bool:
    """The health rule: the Discord OAuth app is configured and recent callbacks are not failing.

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


def oauth_failures_for_alert(*, now: datetime) -> int:
    """How many OAuth callbacks failed in the ALERT_OAUTH_FAILURES_WINDOW_SECONDS up to `now`."""
    since = now - timedelta(seconds=settings.ALERT_OAUTH_FAILURES_WINDOW_SECONDS)
    return OAuthAttempt.objects.filter(succeeded=False, created_at__gt=since, created_at__lte=now).count()


def oauth_failing_for_alert(failures: int) -> bool:
    """The alert rule: more than ALERT_OAUTH_FAILURES_THRESHOLD failures (as counted by
    oauth_failures_for_alert)."""
    return failures > settings.ALERT_OAUTH_FAILURES_THRESHOLD


def oauth_attempt_counts(*, since: datetime) -> dict[tuple[str, bool], int]:
    """OAuth callbacks recorded after `since`, counted by (provider, succeeded)."""
    rows = (
        OAuthAttempt.objects.filter(created_at__gt=since)
        .values("provider", "succeeded")
        .annotate(count=Count("id"))
        .order_by()
    )
    return {(row["provider"], row["succeeded"]): row["count"] for row in rows}


# The audit action of a new Discord link (accounts.services.record_discord_link).
DISCORD_LINKED_ACTION = "discord.linked"


def discord_links_count(*, since: datetime, until: datetime) -> int:
    """Discord accounts linked in [since, until), from the audit trail (unlinks do not erase them)."""
    return AuditEvent.objects.filter(
        action=DISCORD_LINKED_ACTION, created_at__gte=since, created_at__lt=until
    ).count()


def discord_links_per_bucket(*, since: datetime, until: datetime, kind: str) -> dict[datetime, int]:
    """discord_links_count per "hour" or "day" bucket of [since, until) (buckets without links absent)."""
    rows = per_bucket(
        AuditEvent.objects.filter(action=DISCORD_LINKED_ACTION),
        field="created_at",
        since=since,
        until=until,
        kind=kind,
        count=Count("id"),
    )
    return {start: row["count"] for start, row in rows.items()}


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


DISCORD_INTEGRATION_FLAG = "discord_integration"
DISCORD_CDN_URL = "https://cdn.discordapp.com"


def discord_profile_for(user) -> dict | None:
    """The linked Discord identity of `user` as shown on the profile and in /api/me, or None.

    Identity fields come from allauth's `extra_data`, which allauth replaces with Discord's
    /users/@me answer on every login, so they stay in step with Discord.
    """
    # The relink flag is read as a plain column: showing a profile never decrypts a token.
    relink = DiscordToken.objects.filter(social_account=OuterRef("pk")).values("needs_relink")[:1]
    account = (
        SocialAccount.objects.filter(user=user, provider="discord")
        .annotate(needs_relink=Subquery(relink))
        .first()
    )
    if account is None:
        return None
    data = account.extra_data or {}
    return {
        "id": account.uid,
        "username": data.get("username", ""),
        "global_name": data.get("global_name"),
        "avatar_url": discord_avatar_url(discord_id=account.uid, avatar_hash=data.get("avatar")),
        "linked_at": account.date_joined,
        "needs_relink": bool(account.needs_relink),
    }


def discord_avatar_url(*, discord_id: str, avatar_hash: str | None, size: int | None = 128) -> str:
    """The CDN URL of a Discord avatar, or of Discord's default avatar when the user has none."""
    if avatar_hash:
        extension = "gif" if avatar_hash.startswith("a_") else "png"
        url = f"{DISCORD_CDN_URL}/avatars/{discord_id}/{avatar_hash}.{extension}"
        return f"{url}?size={size}" if size else url
    # Discord's rule for accounts on the new username system: (id >> 22) % 6.
    return f"{DISCORD_CDN_URL}/embed/avatars/{(int(discord_id) >> 22) % 6}.png"


def discord_integration_enabled_for_user(user) -> bool:
    """Whether `user` is inside the `discord_integration` rollout, the same answer on web and bot.

    Waffle's own percentage rollout draws a random number per browser and keeps it in a cookie,
    so one member could see Discord linking on the phone and not on the laptop, and the bot (no
    cookies) could not tell at all. Members are bucketed by user id instead: a stable hash puts
    each member at 0–99.9, and the member is in while the bucket is below the flag's percent, so
    raising the percent only ever adds members. `everyone`, staff, superusers, users and groups
    of the flag apply as in waffle.
    """
    flag = waffle.get_waffle_flag_model().get(DISCORD_INTEGRATION_FLAG)
    if not flag.pk or user is None:
        return False
    if user.is_authenticated:
        decided = flag.is_active_for_user(user)
        if decided is not None:
            return decided
    elif flag.everyone is not None:
        return flag.everyone
    if not flag.percent or not user.pk:
        return False
    return rollout_bucket(user.pk) < flag.percent


def rollout_bucket(user_id: int) -> Decimal:
    """The stable 0.0–99.9 rollout position of a user id."""
    digest = hashlib.sha256(f"{DISCORD_INTEGRATION_FLAG}:{user_id}".encode()).digest()
    return Decimal(int.from_bytes(digest[:8], "big") % 1000) / 10


def discord_integration_enabled_for(request) -> bool:
    """Whether the visitor of `request` is inside the `discord_integration` rollout.

    Signed-in members get their per-user answer; anonymous visitors (Sign up with Discord) get
    waffle's per-browser answer, since there is no user to bucket yet.
    """
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return discord_integration_enabled_for_user(user)
    return bool(waffle.flag_is_active(request, DISCORD_INTEGRATION_FLAG))


def api_tokens_for(user):
    """The active API tokens of `user`, newest first."""
    return APIToken.objects.filter(user=user, revoked_at__isnull=True).order_by("-created_at")


# A brand-new user's privileges: the "before" of an account created by staff.
NO_PRIVILEGES = {
    "is_staff": False,
    "is_superuser": False,
    "is_active": True,
    "groups": [],
    "user_permissions": [],
}


def privileges_of(user) -> dict:
    """The staff/superuser/active flags, group names and permissions of `user`, comparable as a dict."""
    return {
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "is_active": user.is_active,
        "groups": sorted(user.groups.values_list("name", flat=True)),
        "user_permissions": sorted(
            f"{app_label}.{codename}"
            for app_label, codename in user.user_permissions.values_list(
                "content_type__app_label", "codename"
            )
        ),
    }


def token_encryption_problem() -> str | None:
    """Why DISCORD_TOKEN_ENCRYPTION_KEY cannot protect stored Discord tokens (not set, or not Fernet keys), or
    None when it can. A key derived from SECRET_KEY, DEBUG's stand-in, counts as not set."""
    if not crypto.configured_keys():
        return "DISCORD_TOKEN_ENCRYPTION_KEY is not set"
    try:
        crypto.token_cipher()
    except ImproperlyConfigured as error:
        return str(error)
    return None


def stored_discord_tokens_decrypt() -> bool | None:
    """Whether the oldest and the newest stored Discord tokens decrypt under DISCORD_TOKEN_ENCRYPTION_KEY,
    or None when no token is stored. The oldest is the likeliest to predate a key rotation.

    Raises TokenKeyMissing, ImproperlyConfigured (no key outside DEBUG, or an invalid one).
    """
    tokens = DiscordToken.objects.order_by("updated_at", "id")
    try:
        oldest, newest = tokens.first(), tokens.last()
    except TokenDecryptionError:
        return False
    return None if oldest is None and newest is None else True


def oauth_state_problems() -> list[str]:
    """What weakens the CSRF protection of the Discord sign-in, one sentence each; empty when nothing does.

    allauth binds each OAuth flow to the session with a random `state` only when the provider's adapter
    supports it, and a login started by a GET could be triggered from another site.
    """
    problems = []
    providers.registry.load()
    provider = providers.registry.get_class("discord")
    adapter = getattr(provider, "oauth2_adapter_class", None)
    if provider is None or adapter is None:
        problems.append("allauth has no Discord OAuth2 provider registered")
    elif not adapter.supports_state:
        problems.append(f"{adapter.__name__} does not send and verify the OAuth state parameter")
    if settings.SOCIALACCOUNT_LOGIN_ON_GET:
        problems.append("SOCIALACCOUNT_LOGIN_ON_GET is on, so a plain link can start a Discord login")
    return problems


@dataclass(frozen=True)
class DiscordGrant:
    """A member's Discord link as seen by a feature that acts with the member's own token."""

    user_id: int
    discord_id: str
    linked_at: datetime
    display_name: str


def discord_links_granting(scope: str, *, user_ids: Iterable[int] | None = None) -> list[DiscordGrant]:
    """Active members whose Discord link holds a usable grant of `scope` (not waiting for a relink).

    Reads plain columns only: no token is decrypted.
    """
    accounts = _links_granting(scope)
    if user_ids is not None:
        accounts = accounts.filter(user_id__in=list(user_ids))
    rows = accounts.values_list("user_id", "uid", "date_joined", "user__display_name", "user__username")
    return [
        DiscordGrant(user_id=user_id, discord_id=uid, linked_at=joined, display_name=display or username)
        for user_id, uid, joined, display, username in rows
    ]


def discord_links_granting_count(scope: str) -> int:
    return _links_granting(scope).count()


def _links_granting(scope: str):
    return SocialAccount.objects.filter(
        provider="discord",
        user__is_active=True,
        discord_token__needs_relink=False,
        # Scopes are space-separated words: match a whole word only.
        discord_token__scope__regex=rf"(^| ){re.escape(scope)}( |$)",
    )


def granted_discord_scopes(user) -> set[str] | None:
    """The scopes of the member's stored Discord grant, or None when Discord is not linked."""
    scope = (
        DiscordToken.objects.filter(social_account__user=user, social_account__provider="discord")
        .values_list("scope", flat=True)
        .first()
    )
    return None if scope is None else set(scope.split())

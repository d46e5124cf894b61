"""Writes of the accounts app: API tokens, the audit trail, OAuth outcomes, Discord links."""

from datetime import timedelta
from typing import Any

import structlog
from allauth.socialaccount.models import SocialAccount, SocialToken
from django.db import models, transaction
from django.db.models import Value
from django.db.models.functions import Cast
from django.utils import timezone

from accounts import crypto
from accounts.errors import (
    DiscordTemporarilyUnavailable,
    NotLinked,
    RelinkRequired,
    TokenNotFound,
    UnlinkWouldLockOut,
)
from accounts.models import APIToken, AuditEvent, DiscordToken, OAuthAttempt, User
from accounts.oauth_failures import describe_failure
from accounts.selectors import privileges_of
from accounts.signals import discord_linked, discord_unlinked, discord_unlinking
from discord_rest.client import DiscordClient, DiscordError, DiscordServerError, DiscordUnauthorized

logger = structlog.get_logger(__name__)


def create_api_token(
    *,
    user: User,
    name: str = "default",
    actor: User | None = None,
    source: str = AuditEvent.Source.SYSTEM,
    ip_address: str | None = None,
) -> tuple[APIToken, str]:
    """Create and audit a token for `user`; returns the row and the clear key, which is never stored."""
    key = APIToken.generate_key()
    token = APIToken.objects.create(
        user=user, name=name or "default", prefix=key[:12], key_hash=APIToken.hash_key(key)
    )
    record_audit_event(
        actor=actor, action="api_token.created", target=token, source=source, ip_address=ip_address
    )
    return token, key


def revoke_api_token(
    *, token_id: int, actor: User, source: str = AuditEvent.Source.WEB, ip_address: str | None = None
) -> APIToken:
    """Revoke a token owned by `actor` (or any token, for staff). Raises TokenNotFound."""
    tokens = APIToken.objects.filter(pk=token_id, revoked_at__isnull=True)
    if not actor.is_staff:
        tokens = tokens.filter(user=actor)
    token = tokens.first()
    if token is None:
        raise TokenNotFound(f"API token {token_id} does not exist or is already revoked.")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    record_audit_event(
        actor=actor, action="api_token.revoked", target=token, source=source, ip_address=ip_address
    )
    return token


def touch_api_token(token: APIToken) -> None:
    """Record a use of `token`, at most once a minute so reads do not turn into writes."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        APIToken.objects.filter(pk=token.pk).update(last_used_at=now)


def record_audit_event(
    *,
    actor: User | str | None,
    action: str,
    source: str,
    target: models.Model | None = None,
    data: dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> AuditEvent:
    """Append one audit event; call it inside the transaction of the action it records.

    `actor` is the user acting, or the name of the shell user who ran a CLI command (the CLI has no
    signed-in user), which is kept as the event's `operator`.
    """
    if isinstance(actor, str):
        data = {**(data or {}), "operator": actor}
        actor = None
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        actor_repr=str(actor) if actor is not None else "",
        action=action,
        target_type=target._meta.label if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:200] if target is not None else "",
        data=data or {},
        source=source,
        ip_address=ip_address,
    )


def record_privilege_change(
    *, actor: User, user: User, before: dict, source: str, ip_address: str | None = None
) -> AuditEvent | None:
    """Audit what changed in `user`'s privileges since `before` (see selectors.privileges_of), if anything."""
    after = privileges_of(user)
    changed = {
        name: {"before": before[name], "after": after[name]} for name in after if before[name] != after[name]
    }
    if not changed:
        return None
    return record_audit_event(
        actor=actor,
        action="user.privileges_changed",
        source=source,
        target=user,
        data=changed,
        ip_address=ip_address,
    )


def record_oauth_attempt(*, succeeded: bool, error: str = "", provider: str = "discord") -> OAuthAttempt:
    """Record one OAuth callback outcome."""
    return OAuthAttempt.objects.create(provider=provider, succeeded=succeeded, error=error[:200])


# --- Discord account links -------------------------------------------------------------------

# A token this close to expiry is refreshed before use, so it cannot expire mid-request.
ACCESS_TOKEN_REFRESH_MARGIN = timedelta(seconds=60)


def store_discord_tokens(*, social_account: SocialAccount, token: SocialToken) -> DiscordToken:
    """Save the tokens of a Discord login for `social_account`, encrypted. Raises crypto.TokenKeyMissing."""
    defaults = {
        "access_token_encrypted": token.token,
        "expires_at": token.expires_at,
        # The scopes Discord granted (the token answer's `scope`, kept by the provider's adapter), else
        # the configured ones: allauth's SocialToken has no scope field.
        "scope": getattr(token, "granted_scope", "") or " ".join(social_account.get_provider().get_scope()),
        "needs_relink": False,
    }
    # Discord sends a refresh token with every grant; keep the stored one if a response had none.
    if token.token_secret:
        defaults["refresh_token_encrypted"] = token.token_secret
    stored, _ = DiscordToken.objects.update_or_create(social_account=social_account, defaults=defaults)
    return stored


def record_discord_link(
    *, user: User, social_account: SocialAccount, source: str, ip_address: str | None = None
) -> None:
    """Audit a new link of `social_account` to `user` and send `discord_linked`, in one transaction."""
    discord_id = social_account.uid
    with transaction.atomic():
        record_audit_event(
            actor=user,
            action="discord.linked",
            source=source,
            target=user,
            data={"discord_id": discord_id, "username": social_account.extra_data.get("username")},
            ip_address=ip_address,
        )
        # Inside the transaction: listeners write their outbox entries (a role sync) with the audit.
        discord_linked.send(sender=User, user=user, discord_id=discord_id)


def unlink_discord(*, user: User, actor: User, source: str, ip_address: str | None = None) -> str:
    """Revoke the user's Discord tokens at Discord, delete the link, audit it; returns the Discord id.

    A failed revoke is logged and does not block the unlink: the user asked to leave, and the
    tokens are deleted here either way. Raises NotLinked, UnlinkWouldLockOut.
    """
    account = SocialAccount.objects.filter(user=user, provider="discord").first()
    if account is None:
        raise NotLinked("No Discord account is linked.")
    other_accounts = SocialAccount.objects.filter(user=user).exclude(pk=account.pk)
    if not user.has_usable_password() and not other_accounts.exists():
        raise UnlinkWouldLockOut(
            "Set a password first: without Discord and without a password you could not sign in again."
        )
    discord_id = account.uid
    for receiver, outcome in discord_unlinking.send_robust(sender=User, user=user, discord_id=discord_id):
        if isinstance(outcome, Exception):
            logger.warning("discord_unlinking_listener_failed", receiver=repr(receiver), error=repr(outcome))
    revoked = _revoke_at_discord(account)
    with transaction.atomic():
        account.delete()
        record_audit_event(
            actor=actor,
            action="discord.unlinked",
            source=source,
            target=user,
            data={"discord_id": discord_id, "token_revoked": revoked},
            ip_address=ip_address,
        )
        discord_unlinked.send(sender=User, user=user, discord_id=discord_id)
    return discord_id


def _revoke_at_discord(account: SocialAccount) -> bool:
    try:
        stored = DiscordToken.objects.filter(social_account=account).first()
        if stored is None:
            return False
        # Revoking either token revokes the whole authorization; the refresh token outlives the other.
        if stored.refresh_token_encrypted:
            token, hint = stored.refresh_token_encrypted, "refresh_token"
        else:
            token, hint = stored.access_token_encrypted, "access_token"
        DiscordClient().revoke_token(token=token, token_type_hint=hint)
    except (DiscordError, crypto.TokenDecryptionError) as error:
        logger.warning("discord_revoke_failed", social_account_id=account.pk, error=str(error))
        return False
    return True


# The refresh rule (docs/operations.md, "Discord token refresh"). Discord rotates the refresh token on
# every refresh, so a refresh whose answer was lost (a 5xx, a timeout) may have spent the stored one:
# it is never repeated at once. The stored pair is kept, the row stamped `refresh_uncertain_since`, and
# the next refresh waits this long; then one more try tells which it was (a new pair, or invalid_grant).
REFRESH_UNCERTAIN_RETRY_AFTER = timedelta(minutes=1)


def get_valid_access_token(user: User) -> str:
    """A Discord access token of `user` valid for at least a minute, refreshed if needed.

    The row is locked for the refresh and the new pair is saved before the token is returned: two callers
    never spend the same refresh token. Each refresh is recorded as an OAuth attempt (the OAuth health
    check and alert). Raises NotLinked, RelinkRequired (Discord refused the grant: the member must link
    again), DiscordTemporarilyUnavailable (a rate limit or an outage; after a refresh whose outcome is
    unknown, until REFRESH_UNCERTAIN_RETRY_AFTER has passed: the stored tokens are kept).
    """
    failure: DiscordError | None = None
    with transaction.atomic():
        stored = (
            DiscordToken.objects.select_for_update()
            .filter(social_account__user=user, social_account__provider="discord")
            .first()
        )
        if stored is None:
            raise NotLinked("No Discord account is linked.")
        if stored.needs_relink:
            raise RelinkRequired("Discord refused the stored tokens; link Discord again.")
        now = timezone.now()
        if stored.expires_at is None or stored.expires_at - now >= ACCESS_TOKEN_REFRESH_MARGIN:
            return stored.access_token_encrypted
        in_doubt = stored.refresh_uncertain_since
        if in_doubt is not None and now - in_doubt < REFRESH_UNCERTAIN_RETRY_AFTER:
            raise DiscordTemporarilyUnavailable(
                "The last Discord token refresh got no answer; it is tried again in a minute."
            )
        refused = "token refresh impossible: the access token expired and there is no refresh token"
        if stored.refresh_token_encrypted:
            try:
                data = DiscordClient().refresh_access_token(refresh_token=stored.refresh_token_encrypted)
                if not isinstance(data, dict) or not data.get("access_token"):
                    # As good as no answer: whether Discord rotated the pair is unknown.
                    raise DiscordServerError("Discord answered without an access token", status=0)
            except DiscordError as error:
                failure = error
                refused = describe_failure("token refresh", error)
            else:
                stored.access_token_encrypted = data["access_token"]
                stored.refresh_token_encrypted = data.get("refresh_token") or stored.refresh_token_encrypted
                stored.expires_at = now + timedelta(seconds=int(data.get("expires_in", 0)))
                stored.scope = data.get("scope", stored.scope)
                stored.refresh_uncertain_since = None
                stored.save()
                record_oauth_attempt(succeeded=True)
                return stored.access_token_encrypted
        # The outcome is written inside the transaction, still under the row lock, and raised after the
        # commit: the stamp or the relink banner must outlive this request, and no other caller may
        # refresh with the same token in between.
        if failure is not None and not _is_refused_grant(failure):
            record_oauth_attempt(succeeded=False, error=refused)
            if isinstance(failure, DiscordServerError):
                stored.refresh_uncertain_since = now
                stored.save(update_fields=["refresh_uncertain_since", "updated_at"])
                logger.warning(
                    "discord_refresh_uncertain", social_account_id=stored.social_account_id, error=refused
                )
        else:
            if in_doubt is not None:
                # The refresh whose answer was lost had rotated the token: its new pair is gone.
                refused = f"{refused} (after a refresh that got no answer)"
            record_oauth_attempt(succeeded=False, error=refused)
            stored.needs_relink = True
            stored.refresh_uncertain_since = None
            stored.save(update_fields=["needs_relink", "refresh_uncertain_since", "updated_at"])
            logger.warning(
                "discord_relink_required", social_account_id=stored.social_account_id, reason=refused
            )
    if failure is not None and not _is_refused_grant(failure):
        raise DiscordTemporarilyUnavailable(str(failure)) from failure
    raise RelinkRequired("Discord refused to refresh the token; link Discord again.")


def _is_refused_grant(error) -> bool:
    """Whether Discord refused the user's grant (revoked, expired, already-rotated refresh token),
    as opposed to an outage, a rate limit or our own client credentials being wrong."""
    if error.error == "invalid_grant":
        return True
    return isinstance(error, DiscordUnauthorized) and error.error != "invalid_client"


def mark_relink_required(*, user: User, reason: str) -> bool:
    """Discord refused the member's access token on a call (401): the grant is gone, the member must link
    again (the profile's banner says so). Returns whether a stored token was marked."""
    marked = DiscordToken.objects.filter(
        social_account__user=user, social_account__provider="discord", needs_relink=False
    ).update(needs_relink=True, refresh_uncertain_since=None, updated_at=timezone.now())
    if marked:
        logger.warning("discord_relink_required", user_id=user.pk, reason=reason)
    return bool(marked)


def rotate_token_encryption(*, actor: User | str, source: str = AuditEvent.Source.CLI) -> int:
    """Re-encrypt every stored Discord token under the first configured key; returns the row count.

    `actor` is the user, or for the CLI the shell user's name (see record_audit_event).

    Works on the ciphertext (MultiFernet.rotate keeps each token's timestamp) in one transaction
    with its audit event, so a failure leaves every row as it was and records nothing. Raises
    crypto.TokenDecryptionError when a row opens under none of the configured keys.
    """
    # Cast to a plain TextField: the ORM would otherwise decrypt these columns on the way out.
    raw = {
        "raw_access": Cast("access_token_encrypted", output_field=models.TextField()),
        "raw_refresh": Cast("refresh_token_encrypted", output_field=models.TextField()),
    }
    rotated = 0
    with transaction.atomic():
        rows = DiscordToken.objects.select_for_update().annotate(**raw).values_list("pk", *raw)
        for pk, access, refresh in rows:
            DiscordToken.objects.filter(pk=pk).update(
                access_token_encrypted=_raw_text(crypto.reencrypt(access)),
                refresh_token_encrypted=_raw_text(crypto.reencrypt(refresh) if refresh else ""),
            )
            rotated += 1
        record_audit_event(actor=actor, action="token_key.rotated", source=source, data={"rows": rotated})
    return rotated


def _raw_text(ciphertext: str) -> Value:
    # A Value with a plain TextField output is written as is, not encrypted a second time.
    return Value(ciphertext, output_field=models.TextField())

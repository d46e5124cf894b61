"""Writes of Linked Roles: register the metadata schema, push members' role connections, clear one.

A push is `PUT /users/@me/applications/{id}/role-connection` with the member's own access token: it
replaces the whole connection, so repeating one is harmless, and what was pushed is stored
(`RoleConnection`) so that the next pass sends only what changed. Passes are written to the outbox
(`queue_push`) and delivered by a worker (`linkedroles/deliveries.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from time import perf_counter

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.errors import DiscordTemporarilyUnavailable, NotLinked, RelinkRequired
from accounts.models import User
from accounts.services import get_valid_access_token, mark_relink_required, record_audit_event
from dealscale import outbox
from dealscale.models import OutboxEntry
from discord_rest.client import DiscordClient, DiscordError, DiscordUnauthorized
from linkedroles import metadata, selectors
from linkedroles.models import MetadataRegistration, RoleConnection
from linkedroles.selectors import PlannedPush

logger = structlog.get_logger(__name__)

# Outbox kinds.
PUSH_CHANGED = "linkedroles.push_changed"
PUSH_MEMBER = "linkedroles.push_member"
CLEAR_MEMBER = "linkedroles.clear_member"


# --- the metadata schema ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Registration:
    registered: bool  # False: unchanged since the last registration, no call made
    records: list[dict]


def register_metadata(*, force: bool = False, client: DiscordClient | None = None) -> Registration:
    """Register the metadata records with Discord unless the same payload was registered last time.

    Raises metadata.InvalidMetadata (checked before any call), DiscordError.
    """
    metadata.validate(metadata.RECORDS)
    body = metadata.payload()
    digest = metadata.payload_hash(body)
    application_id = settings.DISCORD_CLIENT_ID
    if not force and selectors.registered_metadata_hash(application_id) == digest:
        return Registration(registered=False, records=body)
    stored = (client or DiscordClient()).put_role_connection_metadata(application_id, body)
    MetadataRegistration.objects.update_or_create(
        application_id=application_id,
        defaults={"payload_hash": digest, "record_count": len(body), "registered_at": timezone.now()},
    )
    # Values refused before (e.g. for keys Discord did not know yet) are worth sending again.
    RoleConnection.objects.exclude(rejected_metadata=None).update(rejected_metadata=None)
    return Registration(registered=True, records=stored if isinstance(stored, list) else body)


# --- pushing ------------------------------------------------------------------------------------------
@dataclass
class PushReport:
    planned: int = 0  # members whose values changed
    pushed: int = 0
    relink: int = 0  # Discord refused the member's grant: the link waits for a relink
    rejected: int = 0  # Discord refused the values (a 4xx): not sent again until they change
    failed: int = 0  # Discord or the token refresh failed for now: retried by a later pass
    remaining: int = 0  # changed, left for the next delivery (the batch was full)
    paused: bool = False
    planning_seconds: float = 0.0
    plan: list[PlannedPush] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_result(self) -> dict:
        return {
            "planned": self.planned,
            "pushed": self.pushed,
            "relink": self.relink,
            "rejected": self.rejected,
            "failed": self.failed,
            "remaining": self.remaining,
            "paused": self.paused,
            "planning_seconds": round(self.planning_seconds, 3),
        }


def push_changed(
    *,
    user_ids: list[int] | None = None,
    limit: int | None = None,
    dry_run: bool = False,
    client: DiscordClient | None = None,
) -> PushReport:
    """Push the role connection of every member (or of `user_ids`) whose values changed, at most `limit`.

    Unchanged members get no call. `dry_run` plans and pushes nothing. Paused (nothing planned) when
    Linked Roles or the whole Discord integration is switched off.
    """
    if not selectors.linked_roles_enabled():
        return PushReport(paused=True)
    started = perf_counter()
    plan = selectors.changed_connections(user_ids=user_ids)
    report = PushReport(planned=len(plan), planning_seconds=perf_counter() - started, plan=plan)
    batch = plan if limit is None else plan[:limit]
    report.remaining = len(plan) - len(batch)
    if dry_run:
        return report
    client = client or DiscordClient()
    for push in batch:
        outcome = push_member(push, client=client)
        if outcome == "pushed":
            report.pushed += 1
        elif outcome == "relink":
            report.relink += 1
        elif outcome == "rejected":
            report.rejected += 1
        else:
            report.failed += 1
            report.errors.append(outcome)
    logger.info("role_connections_pushed", **report.as_result())
    return report


def push_member(push: PlannedPush, *, client: DiscordClient) -> str:
    """Push one member's planned values: "pushed", "relink", or the reason it failed for now."""
    user = User.objects.get(pk=push.user_id)
    try:
        # Refreshed under the token's row lock when close to expiry (accounts.services).
        access_token = get_valid_access_token(user)
    except (NotLinked, RelinkRequired):
        return "relink"
    except DiscordTemporarilyUnavailable as error:
        return _record_failure(push.user_id, f"token refresh: {error}")
    try:
        client.put_user_role_connection(
            settings.DISCORD_CLIENT_ID,
            access_token=access_token,
            platform_name=metadata.PLATFORM_NAME,
            platform_username=push.platform_username,
            metadata=push.metadata,
        )
    except DiscordUnauthorized as error:
        mark_relink_required(user=user, reason=f"role connection push: {error}")
        _record_failure(push.user_id, "Discord refused the member's token; they must link again.")
        return "relink"
    except DiscordError as error:
        if 400 <= error.status < 500 and error.status != 429:
            _record_failure(push.user_id, f"Discord refused the values: {error}", rejected=push.metadata)
            return "rejected"
        return _record_failure(push.user_id, f"role connection push: {error}")
    _record_push(push)
    return "pushed"


def _record_push(push: PlannedPush) -> None:
    RoleConnection.objects.get_or_create(user_id=push.user_id)
    RoleConnection.objects.filter(user_id=push.user_id).update(
        pushed_metadata=push.metadata,
        pushed_username=push.platform_username,
        pushed_at=timezone.now(),
        push_count=F("push_count") + 1,
        last_error="",
        last_error_at=None,
        rejected_metadata=None,
    )


def _record_failure(user_id: int, reason: str, *, rejected: dict[str, str] | None = None) -> str:
    RoleConnection.objects.get_or_create(user_id=user_id)
    fields: dict = {"last_error": reason[:500], "last_error_at": timezone.now()}
    if rejected is not None:
        fields["rejected_metadata"] = rejected
    RoleConnection.objects.filter(user_id=user_id).update(**fields)
    logger.warning("role_connection_push_failed", user_id=user_id, reason=reason)
    return reason


def queue_push(*, trigger: str) -> OutboxEntry:
    """Write a pass over every member to the outbox, unless one is already waiting to start (it will
    plan from the newest values when it runs, so a second would find nothing to do)."""
    with transaction.atomic():
        waiting = OutboxEntry.objects.filter(
            kind=PUSH_CHANGED, status=OutboxEntry.Status.PENDING, attempts=0
        ).first()
        return waiting or outbox.add(PUSH_CHANGED, {"trigger": trigger})


def queue_member_push(*, user_id: int, trigger: str) -> OutboxEntry:
    """Write a push of one member's connection to the outbox (after a link or a grant)."""
    return outbox.add(PUSH_MEMBER, {"user_id": user_id, "trigger": trigger})


def clear_connection(user: User, *, client: DiscordClient | None = None) -> bool:
    """Empty the member's role connection at Discord (no metadata: no Linked Role matches any more) and
    forget what was pushed. Called before an unlink revokes the token, so a failure is only logged.
    Returns whether Discord took it."""
    try:
        cleared = clear_at_discord(user, client=client)
    except (DiscordTemporarilyUnavailable, DiscordError) as error:
        logger.warning("role_connection_clear_failed", user_id=user.pk, error=str(error))
        cleared = False
    RoleConnection.objects.filter(user=user).delete()
    return cleared


def clear_at_discord(user: User, *, client: DiscordClient | None = None) -> bool:
    """PUT an empty connection with the member's token; False when there is no usable grant to do it with.

    Raises DiscordTemporarilyUnavailable (a refresh in doubt), DiscordError."""
    if not selectors.granted_linked_roles(user):
        return False
    try:
        access_token = get_valid_access_token(user)
    except (NotLinked, RelinkRequired):
        return False
    (client or DiscordClient()).put_user_role_connection(
        settings.DISCORD_CLIENT_ID,
        access_token=access_token,
        platform_name=metadata.PLATFORM_NAME,
        platform_username=None,
        metadata={},
    )
    return True


def clear_deactivated_member(*, user_id: int) -> str:
    """Clear a deactivated member's connection at Discord and forget what was pushed; returns what happened.

    Raises DiscordTemporarilyUnavailable, DiscordError (a 401 aside: the grant is gone, and Discord's
    connection with it)."""
    user = User.objects.filter(pk=user_id).first()
    if user is None or user.is_active:
        return "gone" if user is None else "active again"
    try:
        cleared = clear_at_discord(user)
    except DiscordUnauthorized:
        cleared = False
    RoleConnection.objects.filter(user=user).delete()
    return "cleared" if cleared else "no usable grant"


def queue_clear(*, user_id: int) -> OutboxEntry | None:
    """A deactivated member's connection is cleared at Discord by a worker (their roles must go), if
    anything was pushed for them."""
    if not RoleConnection.objects.filter(user_id=user_id, pushed_metadata__isnull=False).exists():
        return None
    return outbox.add(CLEAR_MEMBER, {"user_id": user_id})


def dismiss_consent_prompt(user: User) -> None:
    """The member chose "Not now" on the prompt to grant Linked Roles: the link keeps working without."""
    RoleConnection.objects.update_or_create(user=user, defaults={"prompt_dismissed_at": timezone.now()})


def queue_pushes_by_staff(*, user_ids: list[int], actor: User, source: str) -> int:
    """Staff asked to push these members now (the admin's action): one outbox push each, audit-logged.
    Unchanged members still get no call when the push runs."""
    with transaction.atomic():
        for user_id in user_ids:
            queue_member_push(user_id=user_id, trigger="staff")
        record_audit_event(
            actor=actor, action="linked_roles.push_requested", source=source, data={"user_ids": user_ids}
        )
    return len(user_ids)


@dataclass(frozen=True)
class SharedFacts:
    """What the Verification URL shows a member who granted Linked Roles."""

    facts: list[tuple[str, str]]
    pending: bool  # a push is on its way
    paused: bool
    pushed_at: datetime | None


def share_with_discord(user: User) -> SharedFacts:
    """The member's facts, with a push queued when Discord does not hold them yet (they land here from
    Discord's role picker, and the role should follow at once)."""
    paused = not selectors.linked_roles_enabled()
    desired = selectors.desired_connections(user_ids=[user.pk])
    pending = bool(desired) and desired[0].due and not paused
    if pending:
        queue_member_push(user_id=user.pk, trigger="verification")
    connection = selectors.connection_for(user)
    return SharedFacts(
        facts=selectors.facts_of(desired[0]) if desired else [],
        pending=pending,
        paused=paused,
        pushed_at=connection.pushed_at if connection else None,
    )

"""Pushes of role connections as outbox handlers (registered in apps.py), delivered by a worker.

A pass plans from the database every time it runs, so a pass re-run after its worker died, or run
twice, pushes only what is still different from what Discord holds: nothing is doubled, and whatever
an interrupted pass did not reach is pushed by the next one.
"""

from django.conf import settings

from accounts.errors import DiscordTemporarilyUnavailable
from dealscale import outbox
from dealscale.locks import single_flight
from dealscale.models import OutboxEntry
from discord_rest.client import DiscordError
from linkedroles import services

PUSH_LOCK = "linkedroles-push"
# A pass waits this long for the one in progress (which may plan before the newest values).
BUSY_RETRY_SECONDS = 20


def _retry_if_failed(report: services.PushReport) -> None:
    if report.failed:
        raise outbox.RetryLater(f"{report.failed} role connections could not be pushed: {report.errors[:1]}")


@outbox.handler(services.PUSH_CHANGED)
def deliver_push_changed(entry: OutboxEntry) -> outbox.Result:
    """One pass over every member: push at most LINKED_ROLES_PUSH_BATCH changed connections, one at a
    time (one worker, so one recalculation never floods Discord); the rest goes to a fresh entry."""
    with single_flight(PUSH_LOCK, ttl_seconds=280) as acquired:
        if not acquired:
            raise outbox.RetryLater("Another role-connection pass is running.", after=BUSY_RETRY_SECONDS)
        report = services.push_changed(limit=settings.LINKED_ROLES_PUSH_BATCH)
    if report.remaining:
        # Keyed by this entry: a re-run of this delivery finds the continuation it already wrote.
        outbox.add(
            services.PUSH_CHANGED,
            {"trigger": "continuation"},
            key=f"{services.PUSH_CHANGED}:after:{entry.pk}",
        )
    _retry_if_failed(report)
    return report.as_result()


@outbox.handler(services.PUSH_MEMBER)
def deliver_push_member(entry: OutboxEntry) -> outbox.Result:
    """Push one member's connection (after a link, a consent or a grant) if it changed."""
    report = services.push_changed(user_ids=[entry.payload["user_id"]])
    _retry_if_failed(report)
    return report.as_result()


@outbox.handler(services.CLEAR_MEMBER)
def deliver_clear_member(entry: OutboxEntry) -> outbox.Result:
    """Clear a deactivated member's connection at Discord (unless they were reactivated meanwhile)."""
    try:
        outcome = services.clear_deactivated_member(user_id=entry.payload["user_id"])
    except (DiscordTemporarilyUnavailable, DiscordError) as error:
        raise outbox.RetryLater(f"Clearing the role connection failed: {error}") from error
    return {"outcome": outcome}

"""The transactional outbox: every side effect that leaves the database is written down first.

A writer calls `add(kind, payload, key=...)` inside the transaction of the change that causes the
effect, so the entry commits with the change or not at all. Once the transaction commits, a worker
is asked to deliver it at once (the kick); the relay, run by beat every few seconds, hands every
entry that is still due to a worker. So an effect survives a broker that was down at commit time, a
message the broker lost and a worker killed in the middle of it.

Each kind has one handler, registered with `@handler(kind)` by the app that owns the effect. A
handler may run more than once for one entry (a worker can die after the effect and before the
entry is marked), so it must be idempotent: Discord messages carry a nonce derived from the entry
and the project stores the ids of what it created. A handler that raises is retried with
exponential backoff (`RetryLater` chooses the delay, `Undeliverable` gives up at once); after its
`max_attempts` the entry is `failed` and waits in the admin, with its last error, for "retry now".

Claims: a worker holds a PostgreSQL advisory lock on an entry while it delivers it. A second copy of
the same task finds the lock taken and leaves; a worker that dies releases the lock with its
connection, so the entry is taken over as soon as its message comes back or the relay hands it
again, without waiting for a timeout. Without PostgreSQL (the embedded SQLite mode) the claim's
lease (`OUTBOX_LEASE_SECONDS`) stands in for the lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from dealscale.models import OutboxEntry
from dealscale.queueing import BROKER_ERRORS, _task_named

logger = structlog.get_logger(__name__)

DELIVER_TASK = "dealscale.outbox.deliver"
# Advisory-lock keys of the outbox are this prefix plus the entry id; nothing else takes advisory locks.
_LOCK_PREFIX = 0x0B0C << 48

Status = OutboxEntry.Status
Result = dict[str, Any] | None


class RetryLater(Exception):
    """Raised by a handler: the effect cannot be delivered now; try again after `after` seconds
    (None: the kind's exponential backoff)."""

    def __init__(self, reason: str, *, after: float | None = None) -> None:
        super().__init__(reason)
        self.after = after


class Undeliverable(Exception):
    """Raised by a handler: retrying cannot help (the request is refused); the entry fails at once."""


@dataclass(frozen=True)
class Handler:
    kind: str
    deliver: Callable[[OutboxEntry], Result]
    max_attempts: Callable[[], int]
    backoff: Callable[[int], float]


_HANDLERS: dict[str, Handler] = {}


def default_backoff(attempt: int) -> float:
    """Seconds before retrying after failed attempt number `attempt` (1, 2, ...): doubling, capped."""
    first, cap = settings.OUTBOX_FIRST_BACKOFF_SECONDS, settings.OUTBOX_MAX_BACKOFF_SECONDS
    return min(first * 2 ** (attempt - 1), cap)


def handler(
    kind: str,
    *,
    max_attempts: Callable[[], int] | None = None,
    backoff: Callable[[int], float] | None = None,
) -> Callable[[Callable[[OutboxEntry], Result]], Callable[[OutboxEntry], Result]]:
    """Register the function that delivers entries of `kind`; it returns what to keep in `result`.

    `max_attempts` and `backoff` (attempt number -> seconds) default to the OUTBOX_* settings; they
    are read at delivery time.
    """

    def register(func: Callable[[OutboxEntry], Result]) -> Callable[[OutboxEntry], Result]:
        _HANDLERS[kind] = Handler(
            kind=kind,
            deliver=func,
            max_attempts=max_attempts or (lambda: settings.OUTBOX_MAX_ATTEMPTS),
            backoff=backoff or default_backoff,
        )
        return func

    return register


# --- writing ---------------------------------------------------------------------------------------
def add(kind: str, payload: dict[str, Any] | None = None, *, key: str | None = None) -> OutboxEntry:
    """Write the intent to deliver `kind` with `payload` in the current transaction.

    A worker is asked to deliver it once the transaction commits. With a `key` (one logical event,
    e.g. "credit_request:12:decision_dm"), adding the same key again returns the first entry.
    """
    fields = {"kind": kind, "payload": payload or {}, "next_attempt_at": timezone.now()}
    if key is None:
        entry = OutboxEntry.objects.create(**fields)
    else:
        entry, created = OutboxEntry.objects.get_or_create(key=key, defaults=fields)
        if not created:
            return entry
    # robust: the kick is only the fast path; a refused one leaves the entry to the relay.
    transaction.on_commit(lambda: kick([entry.pk]), robust=True)
    return entry


def entry_for(key: str) -> OutboxEntry | None:
    """The entry written for the logical event `key`, if any."""
    return OutboxEntry.objects.filter(key=key).first()


# --- handing entries to workers --------------------------------------------------------------------
def kick(entry_ids: Iterable[int]) -> int:
    """Hand entries to the broker now; returns how many it took. The rest wait for the relay."""
    entry_ids = list(entry_ids)
    if not entry_ids:
        return 0
    # Marked before sending: a worker may fail an entry (and clear the mark) before we get here again.
    OutboxEntry.objects.filter(pk__in=entry_ids).update(handed_at=timezone.now())
    task = _task_named(DELIVER_TASK)
    for index, entry_id in enumerate(entry_ids):
        try:
            # No publish retries: with the broker down a web request must not wait; the relay retries.
            task.apply_async((entry_id,), retry=False)
        except BROKER_ERRORS as exc:
            not_sent = entry_ids[index:]
            OutboxEntry.objects.filter(pk__in=not_sent).update(handed_at=None)
            logger.warning("outbox_handoff_failed", entries=len(not_sent), error=repr(exc))
            return index
    return len(entry_ids)


def relay(*, limit: int = 500) -> int:
    """Hand to the broker every entry that is due and with no worker; returns how many were handed.

    Due: pending and past its next attempt, never handed or handed longer ago than
    OUTBOX_HANDOFF_TIMEOUT_SECONDS (the broker lost it), or delivering by a worker that is gone.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.OUTBOX_HANDOFF_TIMEOUT_SECONDS)
    due = (
        OutboxEntry.objects.filter(status=Status.PENDING, next_attempt_at__lte=now)
        .filter(Q(handed_at__isnull=True) | Q(handed_at__lt=stale))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)
    )
    entry_ids = list(due[:limit]) + _abandoned(now=now, limit=limit)
    return kick(entry_ids)


def _abandoned(*, now, limit: int) -> list[int]:
    delivering = OutboxEntry.objects.filter(status=Status.DELIVERING)
    if not _has_advisory_locks():
        return list(delivering.filter(lease_until__lt=now).values_list("pk", flat=True)[:limit])
    abandoned = []
    for entry_id in delivering.values_list("pk", flat=True)[:limit]:
        with _delivery_lock(entry_id) as free:
            if free:
                abandoned.append(entry_id)
    return abandoned


def retry_now(entry_ids: Iterable[int]) -> int:
    """Make pending or failed entries due now (one more attempt each) and kick them; returns how many."""
    entry_ids = list(entry_ids)
    with transaction.atomic():
        retried = list(
            OutboxEntry.objects.filter(
                pk__in=entry_ids, status__in=[Status.PENDING, Status.FAILED]
            ).values_list("pk", flat=True)
        )
        OutboxEntry.objects.filter(pk__in=retried).update(
            status=Status.PENDING, next_attempt_at=timezone.now(), handed_at=None, lease_until=None
        )
        transaction.on_commit(lambda: kick(retried), robust=True)
    return len(retried)


def prune(*, older_than_days: int | None = None) -> int:
    """Delete delivered entries older than OUTBOX_RETENTION_DAYS; returns how many."""
    days = settings.OUTBOX_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = OutboxEntry.objects.filter(status=Status.DELIVERED, delivered_at__lt=cutoff).delete()
    return deleted


@dataclass(frozen=True)
class Backlog:
    """What waits in the outbox (for /metrics, the health dashboard and the outbox alert)."""

    pending: int
    delivering: int
    failed_last_day: int
    oldest_due_seconds: float | None  # how long the longest-waiting due entry has been due; None: none


def backlog(*, now=None) -> Backlog:
    now = now or timezone.now()
    counts = dict(
        OutboxEntry.objects.filter(status__in=[Status.PENDING, Status.DELIVERING])
        .values("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    failed = OutboxEntry.objects.filter(status=Status.FAILED, created_at__gte=now - timedelta(days=1)).count()
    oldest = (
        OutboxEntry.objects.filter(status=Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    return Backlog(
        pending=counts.get(Status.PENDING, 0),
        delivering=counts.get(Status.DELIVERING, 0),
        failed_last_day=failed,
        oldest_due_seconds=None if oldest is None else max((now - oldest).total_seconds(), 0.0),
    )


# --- delivering ------------------------------------------------------------------------------------
def deliver(entry_id: int) -> str:
    """Deliver one entry if it is due and no other worker has it; returns what happened.

    "delivered", "pending" (retried later), "failed" (gave up), "busy" (another worker has it) or
    "not due" (unknown, already delivered, or waiting for its next attempt).
    """
    with _delivery_lock(entry_id) as free:
        if not free:
            return "busy"
        entry = _claim(entry_id)
        if entry is None:
            return "not due"
        return _run(entry)


def _claim(entry_id: int) -> OutboxEntry | None:
    now = timezone.now()
    claimable = Q(status=Status.PENDING, next_attempt_at__lte=now) | Q(
        status=Status.DELIVERING, lease_until__lt=now
    )
    if _has_advisory_locks():
        # We hold the entry's lock, so a "delivering" one lost its worker (the lock went with it).
        claimable |= Q(status=Status.DELIVERING)
    claimed = OutboxEntry.objects.filter(claimable, pk=entry_id).update(
        status=Status.DELIVERING,
        attempts=F("attempts") + 1,
        lease_until=now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS),
    )
    return OutboxEntry.objects.get(pk=entry_id) if claimed else None


def _run(entry: OutboxEntry) -> str:
    found = _HANDLERS.get(entry.kind)
    log = logger.bind(entry_id=entry.pk, kind=entry.kind, attempt=entry.attempts)
    if found is None:
        # A newer web process may write a kind this older worker does not know yet (a rolling deploy).
        return _reschedule(entry, None, error=f"No handler for {entry.kind!r} in this worker.", log=log)
    if entry.attempts > found.max_attempts():
        # Only reached when earlier attempts died with their worker: stop a task that kills its worker.
        return _finish(entry, Status.FAILED, error="Gave up: the attempts died with their worker.", log=log)
    try:
        result = found.deliver(entry)
    except RetryLater as exc:
        return _reschedule(entry, found, error=str(exc), after=exc.after, log=log)
    except Undeliverable as exc:
        return _finish(entry, Status.FAILED, error=str(exc), log=log)
    except Exception as exc:  # the delivery boundary: any failure is recorded and retried, never lost
        log.exception("outbox_delivery_crashed")
        return _reschedule(entry, found, error=f"{type(exc).__name__}: {exc}", log=log)
    return _finish(entry, Status.DELIVERED, result=result, log=log)


def remember(entry: OutboxEntry, result: Result) -> None:
    """Keep what the attempt in progress already did (e.g. the id of a message just sent) on the entry
    at once, so that an attempt after this worker's death finds it even when Discord's nonce has expired."""
    _ours(entry).update(result=result)
    entry.result = result


def is_last_attempt(entry: OutboxEntry) -> bool:
    """True when a failure of the attempt in progress makes `entry` fail for good."""
    found = _HANDLERS.get(entry.kind)
    return found is not None and entry.attempts >= found.max_attempts()


def _reschedule(
    entry: OutboxEntry, found: Handler | None, *, error: str, after: float | None = None, log
) -> str:
    max_attempts = found.max_attempts() if found else settings.OUTBOX_MAX_ATTEMPTS
    if entry.attempts >= max_attempts:
        return _finish(entry, Status.FAILED, error=error, log=log)
    delay = after if after is not None else (found.backoff if found else default_backoff)(entry.attempts)
    updated = _ours(entry).update(
        status=Status.PENDING,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        handed_at=None,
        lease_until=None,
        last_error=error[:2000],
    )
    log.warning("outbox_delivery_retried", error=error, retry_in=round(delay, 3), recorded=bool(updated))
    return Status.PENDING


def _finish(entry: OutboxEntry, status: str, *, log, result: Result = None, error: str = "") -> str:
    fields: dict[str, Any] = {"status": status, "lease_until": None}
    if status == Status.DELIVERED:
        fields.update(result=result, delivered_at=timezone.now())
    else:
        fields["last_error"] = error[:2000]
    updated = _ours(entry).update(**fields)
    if status == Status.DELIVERED:
        log.info("outbox_delivered", recorded=bool(updated))
    else:
        log.error("outbox_delivery_failed", error=error, recorded=bool(updated))
    return status


def _ours(entry: OutboxEntry):
    # Only the claim this worker holds: if the entry was taken over meanwhile, its new worker decides.
    return OutboxEntry.objects.filter(pk=entry.pk, status=Status.DELIVERING, attempts=entry.attempts)


def _has_advisory_locks() -> bool:
    return connection.vendor == "postgresql"


@contextmanager
def _delivery_lock(entry_id: int) -> Iterator[bool]:
    """Hold the entry's session advisory lock for the block; yields False when another session has it."""
    if not _has_advisory_locks():
        yield True
        return
    key = _LOCK_PREFIX + entry_id
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
            except DatabaseError:
                # The connection broke: the lock went with it.
                logger.warning("outbox_unlock_failed", entry_id=entry_id)

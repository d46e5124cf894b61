"""Writes of the leaderboard: service keys, the score ledger and the periodic recalculation."""

import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from time import perf_counter

import structlog
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import AuditEvent, User
from accounts.services import record_audit_event
from leaderboard import page_cache, ranking, selectors
from leaderboard.errors import InvalidAdjustment, InvalidEvents, ServiceKeyNameTaken, ServiceKeyNotFound
from leaderboard.models import LedgerState, ScoreEvent, ServiceKey, SnapshotGeneration
from leaderboard.periods import Period, period_start
from leaderboard.signals import leaderboard_recalculated
from leaderboard.signing import encrypt_secret

logger = structlog.get_logger(__name__)

# Generations kept per period: the live one and the one before it, which readers that looked up
# the live generation just before a swap may still be reading.
KEPT_GENERATIONS = 2


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int


@dataclass(frozen=True)
class PeriodOutcome:
    period: str
    skipped: bool
    generation_id: int | None
    rows: int
    seconds: float


def create_service_key(*, name: str, actor: User | None = None, source: str = AuditEvent.Source.CLI):
    """Create a webhook key; returns (row, clear key, clear signing secret). Raises ServiceKeyNameTaken."""
    if ServiceKey.objects.filter(name=name).exists():
        raise ServiceKeyNameTaken(f"A service key named {name!r} already exists.")
    key = ServiceKey.generate_key()
    secret = "whsec_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        service_key = ServiceKey.objects.create(
            name=name,
            prefix=key[:12],
            key_hash=ServiceKey.hash_key(key),
            encrypted_secret=encrypt_secret(secret),
        )
        record_audit_event(actor=actor, action="service_key.created", source=source, target=service_key)
    return service_key, key, secret


def revoke_service_key(
    *, service_key_id: int, actor: User | None, source: str = AuditEvent.Source.ADMIN
) -> ServiceKey:
    """Revoke a webhook key at once. Raises ServiceKeyNotFound."""
    with transaction.atomic():
        service_key = (
            ServiceKey.objects.select_for_update().filter(pk=service_key_id, revoked_at__isnull=True).first()
        )
        if service_key is None:
            raise ServiceKeyNotFound(f"No active service key with id {service_key_id}.")
        service_key.revoked_at = timezone.now()
        service_key.save(update_fields=["revoked_at"])
        record_audit_event(actor=actor, action="service_key.revoked", source=source, target=service_key)
    return service_key


def record_score_events(*, origin: str, events: Sequence[Mapping]) -> IngestResult:
    """Store a batch of events atomically; an external id already seen from `origin` is a duplicate.

    `origin` names who sent them (a service key's name, or ScoreEvent.ADMIN_SOURCE), stored in `source`.

    Each event maps external_id, user_id or discord_id, points, kind and occurred_at (aware).
    Raises InvalidEvents naming every event whose user is unknown; then nothing is stored.
    """
    user_ids = selectors.resolve_event_users(events)
    errors = {
        str(index): {field: [f"Unknown user {event[field]}."]}
        for index, event in enumerate(events)
        if user_ids[index] is None
        for field in ["user_id" if event.get("user_id") is not None else "discord_id"]
    }
    if errors:
        raise InvalidEvents(errors)
    # Past the check every event names a known user, so the ids line up with the events again.
    known_user_ids = [user_id for user_id in user_ids if user_id is not None]

    with transaction.atomic():
        _lock_ledger()
        external_ids = [event["external_id"] for event in events]
        seen = set(
            ScoreEvent.objects.filter(source=origin, external_id__in=external_ids).values_list(
                "external_id", flat=True
            )
        )
        fresh = []
        for index, event in enumerate(events):
            if event["external_id"] in seen:
                continue
            seen.add(event["external_id"])
            fresh.append(
                ScoreEvent(
                    user_id=known_user_ids[index],
                    points=event["points"],
                    kind=event["kind"],
                    source=origin,
                    external_id=event["external_id"],
                    reason=event.get("reason", ""),
                    created_by=event.get("created_by"),
                    occurred_at=event["occurred_at"],
                )
            )
        if fresh:
            ScoreEvent.objects.bulk_create(fresh)
            _add_to_totals(fresh)
            LedgerState.objects.filter(pk=1).update(change_counter=F("change_counter") + 1)
    return IngestResult(accepted=len(fresh), duplicates=len(events) - len(fresh))


def add_manual_adjustment(
    *, user: User, points: int, reason: str, actor: User, ip_address: str | None = None
) -> ScoreEvent:
    """Record a staff adjustment (origin "admin") with its audit event. Raises InvalidAdjustment (reason)."""
    if not reason.strip():
        raise InvalidAdjustment({"reason": ["A manual adjustment needs a reason."]})
    external_id = f"manual-{uuid.uuid4().hex}"
    with transaction.atomic():
        record_score_events(
            origin=ScoreEvent.ADMIN_SOURCE,
            events=[
                {
                    "external_id": external_id,
                    "user_id": user.pk,
                    "points": points,
                    "kind": "manual_adjustment",
                    "occurred_at": timezone.now(),
                    "reason": reason.strip(),
                    "created_by": actor,
                }
            ],
        )
        event = ScoreEvent.objects.get(source=ScoreEvent.ADMIN_SOURCE, external_id=external_id)
        record_audit_event(
            actor=actor,
            action="leaderboard.manual_adjustment",
            source=AuditEvent.Source.ADMIN,
            target=user,
            data={"points": points, "reason": event.reason, "score_event_id": event.pk},
            ip_address=ip_address,
        )
    return event


def _lock_ledger() -> None:
    # One row serialises ledger writers: the counter stays exact and concurrent batches can never
    # deadlock on each other's totals.
    LedgerState.objects.bulk_create([LedgerState(pk=1)], ignore_conflicts=True)
    list(LedgerState.objects.select_for_update().filter(pk=1))


def _add_to_totals(events: Sequence[ScoreEvent]) -> None:
    buckets: dict[tuple, list] = {}
    for event in events:
        for period in Period.values:
            key = (period, period_start(period, event.occurred_at), event.user_id)
            bucket = buckets.setdefault(key, [0, event.occurred_at])
            bucket[0] += event.points
            bucket[1] = max(bucket[1], event.occurred_at)
    ops = connection.ops
    rows = [
        (user_id, period, ops.adapt_datefield_value(start), score, ops.adapt_datetimefield_value(reached_at))
        for (period, start, user_id), (score, reached_at) in sorted(buckets.items())
    ]
    with connection.cursor() as cursor:
        cursor.executemany(
            """
            INSERT INTO leaderboard_score_totals (user_id, period, period_start, score, reached_at)
            VALUES (%s, %s, %s, %s, %s)
            ON CONFLICT (period, period_start, user_id) DO UPDATE SET
                score = leaderboard_score_totals.score + excluded.score,
                reached_at = CASE WHEN excluded.reached_at > leaderboard_score_totals.reached_at
                                  THEN excluded.reached_at ELSE leaderboard_score_totals.reached_at END
            """,
            rows,
        )


def recalculate_leaderboard(*, force: bool = False) -> list[PeriodOutcome]:
    """Recompute every period whose ledger changed (or whose calendar bucket rolled over), publish it,
    refresh the cached pages, archive a closed day's standings and retire old generations.

    Not re-entrant: the Celery task holds the `leaderboard-recalculate` lock around it.
    """
    outcomes = []
    archived = False
    for period in Period.values:
        outcome = _recalculate_period(period, force=force)
        outcomes.append(outcome)
        if outcome.skipped:
            if outcome.generation_id is not None:
                page_cache.repair(period, generation_id=outcome.generation_id)
        else:
            page_cache.write_common_pages(period)
        if not archived:
            archived = _archive_closed_day(period)
        _retire_old_generations(period)
    logger.info(
        "leaderboard_recalculated",
        periods={o.period: ("skipped" if o.skipped else round(o.seconds, 3)) for o in outcomes},
    )
    published = {o.period: o.generation_id for o in outcomes if not o.skipped}
    if published:
        # The standings are out whatever a listener does: its failure is logged, not the recalculation's.
        for receiver, answer in leaderboard_recalculated.send_robust(
            sender=SnapshotGeneration, generations=published
        ):
            if isinstance(answer, Exception):
                logger.error(
                    "leaderboard_recalculated_listener_failed", receiver=repr(receiver), error=repr(answer)
                )
    return outcomes


def _recalculate_period(period: str, *, force: bool) -> PeriodOutcome:
    started = perf_counter()
    now = timezone.now()
    start = period_start(period, now)
    # Read before the totals: the rows then include at least every change the counter counts.
    counter = LedgerState.objects.filter(pk=1).values_list("change_counter", flat=True).first() or 0
    previous = selectors.live_generation(period)
    if not force and previous and previous.change_counter == counter and previous.period_start == start:
        return PeriodOutcome(period=period, skipped=True, generation_id=previous.pk, rows=0, seconds=0.0)

    with transaction.atomic():
        generation = SnapshotGeneration.objects.create(
            period=period, period_start=start, change_counter=counter, generated_at=now
        )
        generation.row_count = ranking.build_generation(
            generation_id=generation.pk,
            period=period,
            period_start=start,
            generated_at=now,
            previous_id=previous.pk if previous is not None and previous.period_start == start else None,
        )
        generation.duration_ms = round((perf_counter() - started) * 1000)
        generation.save(update_fields=["row_count", "duration_ms"])
    return PeriodOutcome(
        period=period,
        skipped=False,
        generation_id=generation.pk,
        rows=generation.row_count,
        seconds=perf_counter() - started,
    )


def _day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def _closing_generations(period: str) -> list[tuple[SnapshotGeneration, bool]]:
    """The kept generations of `period`, oldest first, each with whether it is the last of its UTC day."""
    generations = list(SnapshotGeneration.objects.filter(period=period).order_by("id"))
    followers = [*generations[1:], None]
    return [
        (generation, follower is None or _day(follower.generated_at) > _day(generation.generated_at))
        for generation, follower in zip(generations, followers, strict=True)
    ]


def _archive_closed_day(period: str) -> bool:
    """Archive one closed day of `period`, if any is pending; True when it did.

    The last generation of a day holds that day's closing standings. It is archived after
    midnight in its own transaction, one per run: at a million members an archive takes seconds,
    and three of them plus a recalculation would not fit in one 25-second task.
    """
    today = _day(timezone.now())
    for generation, closing in _closing_generations(period):
        if closing and not generation.archived and _day(generation.generated_at) < today:
            with transaction.atomic():
                ranking.archive_generation(
                    generation_id=generation.pk, period=generation.period, day=_day(generation.generated_at)
                )
                SnapshotGeneration.objects.filter(pk=generation.pk).update(archived=True)
            return True
    return False


def _retire_old_generations(period: str) -> None:
    kept = _closing_generations(period)
    for generation, closing in kept[: max(len(kept) - KEPT_GENERATIONS, 0)]:
        if closing and not generation.archived:
            continue  # its day is not in the history yet (the archive failed): keep it for the next run
        if ranking.drop_generation_rows(generation.pk):
            SnapshotGeneration.objects.filter(pk=generation.pk).delete()

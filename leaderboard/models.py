"""The score ledger, per-period running totals, published snapshots and the daily rank history.

Write path: a `ScoreEvent` row and the `ScoreTotal` upserts of its periods commit together, with the
ledger's change counter bumped in the same transaction. Read path: the latest `SnapshotGeneration` of
a period and its `LeaderboardSnapshot` rows, which become visible together at commit.
"""

import hashlib
import secrets

from django.conf import settings
from django.db import models

from leaderboard.periods import Period


class ServiceKey(models.Model):
    """A DealScale-platform credential for the score-events webhook: a bearer key and a signing secret.

    The key is stored as its SHA-256 hash; the signing secret must be recoverable to verify HMACs,
    so it is stored Fernet-encrypted (see leaderboard.signing).
    """

    # Also the `source` of every event the key sends: external ids are unique per source.
    name = models.SlugField(max_length=50, unique=True)
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    encrypted_secret = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @staticmethod
    def generate_key() -> str:
        return "dss_" + secrets.token_urlsafe(32)

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()


class ScoreEvent(models.Model):
    """One entry of the append-only points ledger."""

    ADMIN_SOURCE = "admin"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="score_events")
    points = models.IntegerField()
    kind = models.CharField(max_length=50)
    source = models.CharField(max_length=50)
    external_id = models.CharField(max_length=200)
    # Required for manual adjustments (source "admin"); platform events carry their `kind` only.
    reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="leaderboard_event_unique_per_source"
            )
        ]
        indexes = [models.Index(fields=["user", "occurred_at"], name="leaderboard_event_user_time")]

    def __str__(self) -> str:
        return f"{self.points:+d} {self.kind} for {self.user_id} ({self.source}:{self.external_id})"


class ScoreTotal(models.Model):
    """A user's running total in one bucket of a period, kept in step with the ledger on every write."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    period = models.CharField(max_length=5, choices=Period.choices)
    period_start = models.DateField()
    score = models.BigIntegerField(default=0)
    # The latest `occurred_at` among the bucket's events: "who reached the score first" breaks ties.
    reached_at = models.DateTimeField()

    class Meta:
        db_table = "leaderboard_score_totals"
        constraints = [
            models.UniqueConstraint(
                fields=["period", "period_start", "user"], name="leaderboard_total_unique_bucket_user"
            )
        ]
        # Exactly the display order of the ranking SQL, so PostgreSQL ranks from an index-only scan.
        indexes = [
            models.Index(
                fields=["period", "period_start", "-score", "reached_at", "user"],
                name="leaderboard_total_order",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.period} {self.period_start}: {self.score}"


class LedgerState(models.Model):
    """A single row counting ledger writes: the recalculation skips a period whose counter is unchanged.

    A counter bumped inside the writing transaction (rather than "max event id") cannot miss a
    transaction that took a lower id but committed after a later one.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    change_counter = models.BigIntegerField(default=0)

    class Meta:
        db_table = "leaderboard_ledger_state"

    def __str__(self) -> str:
        return f"ledger change #{self.change_counter}"


class SnapshotGeneration(models.Model):
    """One published computation of a period's ranking; the newest per period is the live one."""

    period = models.CharField(max_length=5, choices=Period.choices)
    period_start = models.DateField()
    # The ledger counter read before computing: the rows include every change up to it.
    change_counter = models.BigIntegerField()
    generated_at = models.DateTimeField()
    row_count = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(default=0)
    archived = models.BooleanField(default=False)

    class Meta:
        db_table = "leaderboard_generations"
        ordering = ["-id"]
        indexes = [models.Index(fields=["period", "-id"], name="leaderboard_generation_latest")]

    def __str__(self) -> str:
        return f"{self.period} #{self.pk} at {self.generated_at:%Y-%m-%d %H:%M:%S}"


class LeaderboardSnapshot(models.Model):
    """A user's standing in one generation.

    `rank` is the competition rank (equal scores share it: 1, 2, 2, 4). `position` is the display
    order: score descending, then who reached the score first (earliest latest-event time), then
    user id. The period and generation time live once on the generation: narrow rows build faster.
    On PostgreSQL the table is partitioned by generation (see migration 0002), so a new
    generation is bulk-built and attached, and an old one dropped, without touching the others.
    """

    pk = models.CompositePrimaryKey("generation_id", "user_id")
    # No database FKs: a million FK checks per build would cost more than the build itself; rows
    # of a deleted user disappear at the next generation and reads join users anyway.
    # The primary key serves user lookups; no other index is worth its build time.
    generation = models.ForeignKey(
        SnapshotGeneration, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    rank = models.IntegerField()
    position = models.IntegerField()
    score = models.BigIntegerField()
    previous_rank = models.IntegerField(null=True)

    class Meta:
        db_table = "leaderboard_snapshots"
        indexes = [models.Index(fields=["generation", "position"], name="leaderboard_snapshot_position")]

    def __str__(self) -> str:
        return f"#{self.rank} {self.user_id} ({self.score}) in generation #{self.generation_id}"


class RankHistory(models.Model):
    """A user's closing rank and score of one UTC day in a period, for the rank-history charts."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    period = models.CharField(max_length=5, choices=Period.choices)
    day = models.DateField()
    rank = models.PositiveIntegerField()
    score = models.BigIntegerField()

    class Meta:
        db_table = "leaderboard_history"
        ordering = ["day"]
        verbose_name_plural = "rank history"
        constraints = [
            models.UniqueConstraint(fields=["user", "period", "day"], name="leaderboard_history_unique_day")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.period} {self.day}: #{self.rank}"

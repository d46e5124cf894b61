from django.db import models


class TaskLock(models.Model):
    """A held lock of `dealscale.locks.single_flight` when no Redis is configured."""

    name = models.CharField(max_length=200, primary_key=True)
    owner = models.CharField(max_length=64)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} (until {self.expires_at:%H:%M:%S})"


class OutboxEntry(models.Model):
    """One side effect that leaves the database (a DM, a moderators' post, a role sync, an alert...).

    Written in the same transaction as the change that causes it, then delivered by a worker
    (`dealscale.outbox`): a rolled-back change leaves no entry, a committed one is delivered even if
    the broker or a worker was down when it committed.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERING = "delivering"
        DELIVERED = "delivered"
        FAILED = "failed"

    kind = models.CharField(max_length=64, db_index=True)
    payload = models.JSONField(default=dict)
    # One entry per logical event when the writer names it (e.g. "credit_request:12:decision_dm").
    key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # When the entry was last handed to the broker; the relay hands it again if nobody took it.
    handed_at = models.DateTimeField(null=True, blank=True)
    # A delivering entry whose lease ran out lost its worker (the fallback when no advisory lock tells).
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # What the delivery left behind, e.g. {"message_id": ...} of a DM, or {"skipped": "..."}.
    result = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "outbox entry"
        verbose_name_plural = "outbox"
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} ({self.status})"

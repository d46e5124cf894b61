"""Credit requests, the immutable ledger and the cached balance derived from it."""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.utils import timezone

from credits.errors import AlreadyDecided, InvalidTransition

# The moderation queue's order: pending requests first (then newest first). Indexed as is, see below.
PENDING_FIRST = Case(When(status="pending", then=Value(0)), default=Value(1), output_field=IntegerField())


class CreditRequest(models.Model):
    """A member's request for credits, decided once by a moderator (or cancelled by its owner)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        DENIED = "denied"
        CANCELLED = "cancelled"

    class Source(models.TextChoices):
        WEB = "web"
        API = "api"
        DISCORD = "discord"

    # The whole lifecycle: every other move is refused.
    TRANSITIONS: ClassVar[dict[str, set[str]]] = {
        Status.PENDING: {Status.APPROVED, Status.DENIED, Status.CANCELLED}
    }

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="credit_requests"
    )
    amount = models.PositiveIntegerField()
    reason = models.CharField(max_length=500)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    source = models.CharField(max_length=16, choices=Source.choices)
    # A caller-chosen key (e.g. the Discord interaction id) that makes a retried submission a no-op.
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("moderate_creditrequest", "Can moderate credit requests")]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="credits_req_status_created"),
            models.Index(fields=["user", "status"], name="credits_req_user_status"),
            models.Index(fields=["user", "created_at"], name="credits_req_user_created"),
            # Lets the admin list read its first page in order instead of sorting every request.
            models.Index(
                PENDING_FIRST, F("created_at").desc(), F("id").desc(), name="credits_req_queue_order"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=1), name="credits_request_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "approved", "denied", "cancelled"]),
                name="credits_request_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status="pending", decided_at__isnull=True)
                | (~Q(status="pending") & Q(decided_at__isnull=False)),
                name="credits_request_decided_at_iff_decided",
            ),
            models.UniqueConstraint(
                fields=["user", "idempotency_key"], name="credits_request_unique_idempotency_key"
            ),
        ]

    def __str__(self) -> str:
        return f"Credit request #{self.pk} by {self.user}: {self.amount} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING

    def check_transition(self, target: str) -> None:
        """Raise AlreadyDecided (or InvalidTransition) unless `status → target` is allowed."""
        if target in self.TRANSITIONS.get(self.status, set()):
            return
        if not self.is_pending:
            raise AlreadyDecided(
                f"Credit request #{self.pk} was already {self.status}.",
                current=self.status,
                target=target,
            )
        raise InvalidTransition(
            f"Credit request #{self.pk} cannot move from {self.status} to {target}.",
            current=self.status,
            target=target,
        )


class CreditAccount(models.Model):
    """A member's cached balance: always equal to the sum of their ledger entries (see verify_ledger)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="credit_account"
    )
    balance = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="credits_balance_not_negative")
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.balance} credits"


class LedgerEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ValueError("Ledger entries are immutable: post a correcting entry instead.")

    def delete(self):
        raise ValueError("Ledger entries are immutable: post a correcting entry instead.")


class LedgerEntry(models.Model):
    """One immutable movement of credits; a member's balance is the sum of their entries."""

    class Kind(models.TextChoices):
        GRANT = "grant"
        ADJUSTMENT = "adjustment"
        SPEND = "spend"

    # PROTECT everywhere: deleting a member, moderator or request must not rewrite the money trail.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    amount = models.BigIntegerField(help_text="Signed: positive credits the balance, negative debits it.")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    request = models.ForeignKey(
        CreditRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True)
    balance_after = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = LedgerEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"
        constraints = [
            # The database half of "exactly once": a request is granted a single time, whatever the code does.
            models.UniqueConstraint(
                fields=["request"], condition=Q(kind="grant"), name="credits_one_grant_per_request"
            ),
            models.CheckConstraint(condition=~Q(amount=0), name="credits_entry_amount_not_zero"),
            models.CheckConstraint(
                condition=~Q(kind="grant") | Q(amount__gt=0, request__isnull=False),
                name="credits_grant_is_positive_and_linked",
            ),
            models.CheckConstraint(
                condition=~Q(kind="spend") | Q(amount__lt=0), name="credits_spend_is_negative"
            ),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="credits_entry_balance_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount:+d} {self.kind} for {self.user}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Ledger entries are immutable: post a correcting entry instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Ledger entries are immutable: post a correcting entry instead.")

"""Writes of the credits app: requests, decisions and every movement of the ledger.

Concurrency rules, relied on by every function here:
- a member's CreditAccount row is their lock: whatever reads limits or moves their balance locks it first
  (`_lock_account`), so per-member checks and balance updates are serialised without blocking others;
- a decision locks its CreditRequest row, then the account (always in that order, so no deadlock);
- the ledger's unique (request, grant) constraint refuses a second grant even if these rules were broken.
"""

from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.services import record_audit_event
from credits.errors import (
    CreditsValidationError,
    InsufficientBalance,
    LimitExceeded,
    NotAllowed,
    NotAModerator,
    RequestNotFound,
)
from credits.models import CreditAccount, CreditRequest, LedgerEntry
from credits.selectors import can_moderate, requested_today_total
from credits.signals import credit_request_created, credit_request_decided

REASON_MIN_LENGTH = 10
REASON_MAX_LENGTH = 500
NOTE_MAX_LENGTH = 500
IDEMPOTENCY_KEY_MAX_LENGTH = 100
# Far above any real adjustment, far below the BIGINT range: a typo cannot overflow a balance.
ADJUSTMENT_LIMIT = 1_000_000_000


def request_credits(
    *, user, amount: int, reason: str, origin: str, idempotency_key: str | None = None
) -> CreditRequest:
    """File a pending credit request; a retry with the same idempotency_key returns the first request.

    `origin` is where it was filed from (a CreditRequest.Source, stored in the request's `source`).
    Raises CreditsValidationError (amount, reason, idempotency_key) and LimitExceeded
    (rule CREDITS_MAX_PENDING or CREDITS_DAILY_CAP).
    """
    if origin not in CreditRequest.Source.values:
        raise ValueError(f"Unknown credit request origin {origin!r}.")
    reason = reason.strip() if isinstance(reason, str) else reason
    errors = {}
    if amount_error := _request_amount_error(amount):
        errors["amount"] = [amount_error]
    if reason_error := _reason_error(reason):
        errors["reason"] = [reason_error]
    if idempotency_key is not None and not 0 < len(idempotency_key) <= IDEMPOTENCY_KEY_MAX_LENGTH:
        errors["idempotency_key"] = [
            f"The idempotency key must be 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} characters."
        ]
    if errors:
        raise CreditsValidationError(errors)

    with transaction.atomic():
        # Two concurrent submissions must not both pass the pending limit or the daily cap.
        _lock_account(user.pk)
        if idempotency_key is not None:
            earlier = CreditRequest.objects.filter(user=user, idempotency_key=idempotency_key).first()
            if earlier is not None:
                return earlier
        _check_pending_limit(user)
        _check_daily_cap(user, amount)
        credit_request = CreditRequest.objects.create(
            user=user, amount=amount, reason=reason, source=origin, idempotency_key=idempotency_key
        )
        _announce(credit_request_created, credit_request_id=credit_request.pk)
    return credit_request


def approve_request(
    request_id: int, *, actor, note: str = "", source: str, ip_address: str | None = None
) -> CreditRequest:
    """Approve a pending request and grant its credits, exactly once.

    Raises NotAModerator, RequestNotFound, AlreadyDecided, CreditsValidationError (note).
    """
    _require_moderator(actor)
    note = _clean_note(note)
    with transaction.atomic():
        credit_request = _lock_request(request_id)
        credit_request.check_transition(CreditRequest.Status.APPROVED)
        account = _lock_account(credit_request.user_id)
        entry = _post_entry(
            account=account,
            amount=credit_request.amount,
            kind=LedgerEntry.Kind.GRANT,
            request=credit_request,
            actor=actor,
            reason=note or f"Credit request #{credit_request.pk} approved",
        )
        _decide(credit_request, status=CreditRequest.Status.APPROVED, actor=actor, note=note)
        _audit_decision(
            credit_request,
            action="credit_request.approved",
            actor=actor,
            source=source,
            note=note,
            ip_address=ip_address,
            ledger_entry_id=entry.pk,
            balance_after=entry.balance_after,
        )
    return credit_request


def deny_request(
    request_id: int, *, actor, note: str, source: str, ip_address: str | None = None
) -> CreditRequest:
    """Deny a pending request; the note (the reason told to the member) is required.

    Raises NotAModerator, RequestNotFound, AlreadyDecided, CreditsValidationError (note).
    """
    _require_moderator(actor)
    note = _clean_note(note)
    if not note:
        raise CreditsValidationError({"note": ["A reason is required to deny a request."]})
    with transaction.atomic():
        credit_request = _lock_request(request_id)
        credit_request.check_transition(CreditRequest.Status.DENIED)
        _decide(credit_request, status=CreditRequest.Status.DENIED, actor=actor, note=note)
        _audit_decision(
            credit_request,
            action="credit_request.denied",
            actor=actor,
            source=source,
            note=note,
            ip_address=ip_address,
        )
    return credit_request


def cancel_request(
    request_id: int, *, actor, source: str, note: str = "", ip_address: str | None = None
) -> CreditRequest:
    """Cancel a pending request: its owner may, and so may a moderator (the owner is then told).

    Raises NotAllowed, RequestNotFound, AlreadyDecided, CreditsValidationError (note).
    """
    note = _clean_note(note)
    with transaction.atomic():
        credit_request = _lock_request(request_id)
        by_owner = credit_request.user_id == actor.pk
        if not by_owner and not can_moderate(actor):
            raise NotAllowed("Only the member who filed a request or a moderator can cancel it.")
        credit_request.check_transition(CreditRequest.Status.CANCELLED)
        _decide(credit_request, status=CreditRequest.Status.CANCELLED, actor=actor, note=note)
        _audit_decision(
            credit_request,
            action="credit_request.cancelled",
            actor=actor,
            source=source,
            note=note,
            ip_address=ip_address,
            by_owner=by_owner,
        )
    return credit_request


def adjust_balance(
    *, user, amount: int, reason: str, actor, source: str, ip_address: str | None = None
) -> LedgerEntry:
    """Credit (amount > 0) or debit (amount < 0) a member by hand, with a required reason.

    Raises NotAModerator, CreditsValidationError (amount, reason), InsufficientBalance.
    """
    _require_moderator(actor)
    reason = reason.strip() if isinstance(reason, str) else reason
    errors = {}
    if not _is_whole_number(amount) or amount == 0 or abs(amount) > ADJUSTMENT_LIMIT:
        limit = ADJUSTMENT_LIMIT
        errors["amount"] = [f"The adjustment must be a non-zero whole number from -{limit} to {limit}."]
    if not isinstance(reason, str) or not reason:
        errors["reason"] = ["A reason is required for a manual adjustment."]
    elif len(reason) > REASON_MAX_LENGTH:
        errors["reason"] = [f"The reason must be at most {REASON_MAX_LENGTH} characters."]
    if errors:
        raise CreditsValidationError(errors)
    with transaction.atomic():
        account = _lock_account(user.pk)
        entry = _post_entry(
            account=account, amount=amount, kind=LedgerEntry.Kind.ADJUSTMENT, actor=actor, reason=reason
        )
        record_audit_event(
            actor=actor,
            action="credits.balance_adjusted",
            source=source,
            target=user,
            data={
                "amount": amount,
                "reason": reason,
                "ledger_entry_id": entry.pk,
                "balance_after": entry.balance_after,
            },
            ip_address=ip_address,
        )
    return entry


def spend_credits(*, user, amount: int, reason: str, actor=None) -> LedgerEntry:
    """Debit `amount` credits the member spends.

    Raises CreditsValidationError (amount), InsufficientBalance.
    """
    if not _is_whole_number(amount) or not 1 <= amount <= ADJUSTMENT_LIMIT:
        raise CreditsValidationError(
            {"amount": [f"A spend must be a whole number between 1 and {ADJUSTMENT_LIMIT}."]}
        )
    with transaction.atomic():
        account = _lock_account(user.pk)
        return _post_entry(
            account=account, amount=-amount, kind=LedgerEntry.Kind.SPEND, actor=actor, reason=reason.strip()
        )


def _is_whole_number(value) -> bool:
    # bool is an int in Python; True credits is a bug, not a request for one credit.
    return isinstance(value, int) and not isinstance(value, bool)


def _request_amount_error(amount) -> str | None:
    maximum = settings.CREDITS_MAX_REQUEST
    if not _is_whole_number(amount) or not 1 <= amount <= maximum:
        return f"The amount must be a whole number from 1 to {maximum} (CREDITS_MAX_REQUEST)."
    return None


def _reason_error(reason) -> str | None:
    if not isinstance(reason, str) or not REASON_MIN_LENGTH <= len(reason) <= REASON_MAX_LENGTH:
        return f"The reason must be {REASON_MIN_LENGTH} to {REASON_MAX_LENGTH} characters long."
    if _unstorable(reason):
        return UNSTORABLE_TEXT.format(field="reason")
    return None


UNSTORABLE_TEXT = "The {field} must not contain NUL or unpaired surrogate characters."


def _unstorable(text: str) -> bool:
    # PostgreSQL text holds no NUL, and a lone surrogate (JSON's "\ud800", from Discord) is not UTF-8:
    # either would fail the INSERT with a database error instead of a refusal.
    return "\x00" in text or any("\ud800" <= char <= "\udfff" for char in text)


def _clean_note(note) -> str:
    note = (note or "").strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise CreditsValidationError({"note": [f"The note must be at most {NOTE_MAX_LENGTH} characters."]})
    if _unstorable(note):
        raise CreditsValidationError({"note": [UNSTORABLE_TEXT.format(field="note")]})
    return note


def _require_moderator(user) -> None:
    if not can_moderate(user):
        raise NotAModerator()


def _check_pending_limit(user) -> None:
    limit = settings.CREDITS_MAX_PENDING
    pending = CreditRequest.objects.filter(user=user, status=CreditRequest.Status.PENDING).count()
    if pending >= limit:
        raise LimitExceeded(
            f"You already have {pending} pending request(s) and the limit is {limit} (CREDITS_MAX_PENDING): "
            "wait for a decision or cancel one first.",
            rule="CREDITS_MAX_PENDING",
        )


def _check_daily_cap(user, amount: int) -> None:
    cap = settings.CREDITS_DAILY_CAP
    day_start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    already = requested_today_total(user, since=day_start)
    if already + amount > cap:
        raise LimitExceeded(
            f"This would take you over the daily cap of {cap} credits per UTC day (CREDITS_DAILY_CAP): "
            f"you have requested {already} today, so you can ask for at most {max(cap - already, 0)} more.",
            rule="CREDITS_DAILY_CAP",
        )


def _lock_account(user_id: int) -> CreditAccount:
    account = CreditAccount.objects.select_for_update().filter(pk=user_id).first()
    if account is None:
        # ON CONFLICT DO NOTHING: a concurrent first request for the same member waits, then finds the row.
        CreditAccount.objects.bulk_create([CreditAccount(user_id=user_id)], ignore_conflicts=True)
        account = CreditAccount.objects.select_for_update().get(pk=user_id)
    return account


def _lock_request(request_id: int) -> CreditRequest:
    credit_request = CreditRequest.objects.select_for_update().filter(pk=request_id).first()
    if credit_request is None:
        raise RequestNotFound(f"No credit request with id {request_id}.")
    return credit_request


def _post_entry(
    *,
    account: CreditAccount,
    amount: int,
    kind: str,
    actor,
    reason: str,
    request: CreditRequest | None = None,
) -> LedgerEntry:
    """Append a ledger entry and move the cached balance with it; the caller holds the account lock."""
    balance_after = account.balance + amount
    if balance_after < 0:
        raise InsufficientBalance(
            f"The balance is {account.balance} credits; it cannot go below zero "
            f"(a debit of {-amount} was asked)."
        )
    CreditAccount.objects.filter(pk=account.pk).update(
        balance=F("balance") + amount, updated_at=timezone.now()
    )
    account.balance = balance_after
    return LedgerEntry.objects.create(
        user_id=account.pk,
        amount=amount,
        kind=kind,
        request=request,
        actor=actor,
        reason=reason[:REASON_MAX_LENGTH],
        balance_after=balance_after,
    )


def _decide(credit_request: CreditRequest, *, status: str, actor, note: str) -> None:
    """Record the decision on the locked request and announce it, inside the transaction."""
    credit_request.status = status
    credit_request.decided_at = timezone.now()
    credit_request.decided_by = actor
    credit_request.decision_note = note
    credit_request.save(update_fields=["status", "decided_at", "decided_by", "decision_note"])
    _announce(credit_request_decided, credit_request_id=credit_request.pk, status=status)


def _audit_decision(
    credit_request: CreditRequest,
    *,
    action: str,
    actor,
    source: str,
    note: str,
    ip_address: str | None,
    **data,
) -> None:
    """Audit a decision: the request's amount, member and note, then what this decision adds."""
    record_audit_event(
        actor=actor,
        action=action,
        source=source,
        target=credit_request,
        data={"amount": credit_request.amount, "user_id": credit_request.user_id, "note": note, **data},
        ip_address=ip_address,
    )


def _announce(signal, **event) -> None:
    # Inside the transaction: a listener writes what must follow the change (an outbox entry) atomically
    # with it, so a rolled-back change leaves nothing and a committed one is never without its effects.
    # Listeners only write to the database; whatever leaves it goes out after commit, from the outbox.
    # Not robust on purpose: a listener that cannot write its part fails the change.
    signal.send(sender=CreditRequest, **event)

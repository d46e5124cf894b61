from datetime import UTC, datetime

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction

from accounts.models import AuditEvent
from credits import selectors, services
from credits.errors import (
    AlreadyDecided,
    CreditsValidationError,
    InsufficientBalance,
    InvalidTransition,
    LimitExceeded,
    NotAllowed,
    RequestNotFound,
)
from credits.models import CreditAccount, CreditRequest, LedgerEntry
from credits.tests.factories import CreditRequestFactory, ModeratorFactory, UserFactory

pytestmark = pytest.mark.django_db

REASON = "Hosted the weekly community quiz"
Status = CreditRequest.Status


@pytest.fixture
def member():
    return UserFactory()


@pytest.fixture
def moderator():
    return ModeratorFactory()


def file_request(user, amount=500, **kwargs):
    return services.request_credits(user=user, amount=amount, reason=REASON, origin="web", **kwargs)


def decide(credit_request, target, moderator):
    if target == Status.APPROVED:
        return services.approve_request(credit_request.pk, actor=moderator, source="admin")
    if target == Status.DENIED:
        return services.deny_request(credit_request.pk, actor=moderator, note="Not this time", source="admin")
    return services.cancel_request(credit_request.pk, actor=credit_request.user, source="web")


# --- Filing requests ---------------------------------------------------------------------------


def test_a_member_files_a_pending_request(member):
    credit_request = services.request_credits(user=member, amount=250, reason=f"  {REASON}  ", origin="api")
    credit_request.refresh_from_db()
    assert (credit_request.status, credit_request.amount, credit_request.source) == ("pending", 250, "api")
    assert credit_request.reason == REASON
    assert credit_request.decided_at is None
    assert selectors.balance_for(member) == 0


@pytest.mark.parametrize("amount", [0, -5, 10_001, "100", 12.5, True, None])
def test_an_amount_outside_1_to_max_request_is_refused_naming_the_setting(member, amount):
    with pytest.raises(CreditsValidationError) as error:
        file_request(member, amount=amount)
    assert error.value.fields == {
        "amount": ["The amount must be a whole number from 1 to 10000 (CREDITS_MAX_REQUEST)."]
    }
    assert not CreditRequest.objects.exists()


def test_the_maximum_amount_follows_the_setting(member, settings):
    settings.CREDITS_MAX_REQUEST = 50
    assert file_request(member, amount=50).amount == 50
    with pytest.raises(CreditsValidationError, match="from 1 to 50 \\(CREDITS_MAX_REQUEST\\)"):
        file_request(UserFactory(), amount=51)


@pytest.mark.parametrize("reason", ["too short", "   9 chars!   ", "x" * 501, "", None])
def test_a_reason_outside_10_to_500_characters_is_refused(member, reason):
    with pytest.raises(CreditsValidationError) as error:
        services.request_credits(user=member, amount=5, reason=reason, origin="web")
    assert error.value.fields == {"reason": ["The reason must be 10 to 500 characters long."]}


def test_every_invalid_field_is_reported_at_once(member):
    with pytest.raises(CreditsValidationError) as error:
        services.request_credits(user=member, amount=0, reason="short", origin="web")
    assert set(error.value.fields) == {"amount", "reason"}


def test_a_second_pending_request_is_refused_by_the_pending_limit(member):
    file_request(member)
    with pytest.raises(LimitExceeded) as error:
        file_request(member)
    assert error.value.rule == "CREDITS_MAX_PENDING"
    assert "limit is 1 (CREDITS_MAX_PENDING)" in error.value.message
    assert CreditRequest.objects.filter(user=member).count() == 1


def test_the_pending_limit_follows_the_setting_and_frees_up_once_decided(member, moderator, settings):
    settings.CREDITS_MAX_PENDING = 2
    first = file_request(member)
    file_request(member)
    with pytest.raises(LimitExceeded):
        file_request(member)
    services.approve_request(first.pk, actor=moderator, source="admin")
    assert file_request(member).status == Status.PENDING


def test_the_daily_cap_counts_every_request_of_the_utc_day_but_cancelled_ones(member, moderator, settings):
    settings.CREDITS_DAILY_CAP = 1_000
    with time_machine.travel(datetime(2026, 11, 25, 0, 5, tzinfo=UTC), tick=False):
        approved = file_request(member, amount=400)
        services.approve_request(approved.pk, actor=moderator, source="admin")
        denied = file_request(member, amount=300)
        services.deny_request(denied.pk, actor=moderator, note="Duplicate", source="admin")
        cancelled = file_request(member, amount=300)
        services.cancel_request(cancelled.pk, actor=member, source="web")
        with pytest.raises(LimitExceeded) as error:
            file_request(member, amount=301)
        assert error.value.rule == "CREDITS_DAILY_CAP"
        assert "daily cap of 1000 credits per UTC day (CREDITS_DAILY_CAP)" in error.value.message
        assert "at most 300 more" in error.value.message
        assert file_request(member, amount=300).amount == 300


def test_the_daily_cap_resets_at_midnight_utc(member, moderator, settings):
    settings.CREDITS_DAILY_CAP = 500
    with time_machine.travel(datetime(2026, 11, 25, 23, 59, tzinfo=UTC), tick=False):
        services.approve_request(file_request(member, amount=500).pk, actor=moderator, source="admin")
        with pytest.raises(LimitExceeded):
            file_request(member, amount=1)
    with time_machine.travel(datetime(2026, 11, 26, 0, 0, tzinfo=UTC), tick=False):
        assert file_request(member, amount=500).status == Status.PENDING


def test_a_retried_call_with_the_same_idempotency_key_returns_the_first_request(member):
    first = file_request(member, idempotency_key="interaction-1")
    # The pending limit would refuse a new request: the retry must not count as one.
    again = file_request(member, idempotency_key="interaction-1")
    assert again.pk == first.pk
    assert CreditRequest.objects.filter(user=member).count() == 1


def test_the_database_refuses_a_duplicate_idempotency_key_for_one_member(member):
    CreditRequestFactory(user=member, idempotency_key="interaction-2")
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditRequestFactory(user=member, idempotency_key="interaction-2")


def test_an_overlong_idempotency_key_is_refused(member):
    with pytest.raises(CreditsValidationError) as error:
        file_request(member, idempotency_key="k" * 101)
    assert list(error.value.fields) == ["idempotency_key"]


# --- Decisions ---------------------------------------------------------------------------------


def test_approving_grants_the_amount_once_and_records_who_and_why(member, moderator):
    credit_request = file_request(member, amount=700)
    approved = services.approve_request(
        credit_request.pk, actor=moderator, note="Great work", source="admin", ip_address="10.0.0.7"
    )
    approved.refresh_from_db()
    assert (approved.status, approved.decided_by, approved.decision_note) == (
        "approved",
        moderator,
        "Great work",
    )
    assert approved.decided_at is not None
    entry = LedgerEntry.objects.get(request=credit_request)
    assert (entry.user, entry.amount, entry.kind, entry.actor, entry.balance_after) == (
        member,
        700,
        "grant",
        moderator,
        700,
    )
    assert selectors.balance_for(member) == 700
    event = AuditEvent.objects.get(action="credit_request.approved")
    assert (event.actor, event.source, event.target_id, event.ip_address) == (
        moderator,
        "admin",
        str(credit_request.pk),
        "10.0.0.7",
    )
    assert event.data["amount"] == 700 and event.data["balance_after"] == 700


def test_denying_requires_a_reason_and_grants_nothing(member, moderator):
    credit_request = file_request(member)
    with pytest.raises(CreditsValidationError) as error:
        services.deny_request(credit_request.pk, actor=moderator, note="   ", source="admin")
    assert error.value.fields == {"note": ["A reason is required to deny a request."]}

    denied = services.deny_request(credit_request.pk, actor=moderator, note="No proof given", source="api")
    assert (denied.status, denied.decision_note) == ("denied", "No proof given")
    assert not LedgerEntry.objects.exists()
    assert AuditEvent.objects.filter(action="credit_request.denied", source="api").count() == 1


def test_a_member_cancels_their_own_pending_request(member):
    credit_request = file_request(member)
    cancelled = services.cancel_request(credit_request.pk, actor=member, source="web")
    assert cancelled.status == Status.CANCELLED and cancelled.decided_by == member
    assert AuditEvent.objects.get(action="credit_request.cancelled").data["by_owner"] is True


def test_a_member_cannot_cancel_someone_elses_request(member):
    credit_request = file_request(member)
    with pytest.raises(NotAllowed):
        services.cancel_request(credit_request.pk, actor=UserFactory(), source="web")
    credit_request.refresh_from_db()
    assert credit_request.status == Status.PENDING


def test_a_moderator_can_cancel_a_members_request(member, moderator):
    credit_request = file_request(member)
    cancelled = services.cancel_request(
        credit_request.pk, actor=moderator, note="Filed twice", source="admin"
    )
    assert (cancelled.status, cancelled.decided_by) == ("cancelled", moderator)


@pytest.mark.parametrize("decided", [Status.APPROVED, Status.DENIED, Status.CANCELLED])
@pytest.mark.parametrize("target", [Status.APPROVED, Status.DENIED, Status.CANCELLED])
def test_a_decided_request_never_changes_again(member, moderator, decided, target):
    credit_request = file_request(member, amount=300)
    decide(credit_request, decided, moderator)
    with pytest.raises(AlreadyDecided) as error:
        decide(credit_request, target, moderator)
    assert f"was already {decided}" in error.value.message
    credit_request.refresh_from_db()
    assert credit_request.status == decided
    assert selectors.balance_for(member) == (300 if decided == Status.APPROVED else 0)
    assert LedgerEntry.objects.count() == (1 if decided == Status.APPROVED else 0)


def test_already_decided_is_an_invalid_transition_and_pending_to_pending_is_refused(member):
    credit_request = CreditRequestFactory(user=member)
    with pytest.raises(InvalidTransition) as error:
        credit_request.check_transition(Status.PENDING)
    assert not isinstance(error.value, AlreadyDecided)
    assert issubclass(AlreadyDecided, InvalidTransition)


def test_only_moderators_can_approve_or_deny(member):
    credit_request = file_request(member)
    staff_without_permission = UserFactory(is_staff=True)
    with pytest.raises(NotAllowed, match="Can moderate credit requests"):
        services.approve_request(credit_request.pk, actor=staff_without_permission, source="admin")
    with pytest.raises(NotAllowed):
        services.deny_request(credit_request.pk, actor=member, note="Nope nope", source="api")
    credit_request.refresh_from_db()
    assert credit_request.status == Status.PENDING


def test_superusers_moderate_without_the_explicit_permission(member):
    superuser = UserFactory(is_staff=True, is_superuser=True)
    credit_request = file_request(member)
    assert services.approve_request(credit_request.pk, actor=superuser, source="admin").status == "approved"


def test_deciding_an_unknown_request_is_request_not_found(moderator):
    with pytest.raises(RequestNotFound):
        services.approve_request(999_999, actor=moderator, source="api")


def test_a_decision_note_over_500_characters_is_refused(member, moderator):
    credit_request = file_request(member)
    with pytest.raises(CreditsValidationError) as error:
        services.approve_request(credit_request.pk, actor=moderator, note="n" * 501, source="admin")
    assert list(error.value.fields) == ["note"]


# --- Adjustments and spends --------------------------------------------------------------------


def test_an_adjustment_credits_or_debits_with_a_ledger_entry_and_an_audit_event(member, moderator):
    services.adjust_balance(
        user=member, amount=1_000, reason="Prize for the raffle", actor=moderator, source="admin"
    )
    entry = services.adjust_balance(
        user=member,
        amount=-250,
        reason="Refund clawback",
        actor=moderator,
        source="admin",
        ip_address="10.1.1.1",
    )
    assert (entry.kind, entry.amount, entry.balance_after, entry.reason) == (
        "adjustment",
        -250,
        750,
        "Refund clawback",
    )
    assert selectors.balance_for(member) == 750
    events = AuditEvent.objects.filter(action="credits.balance_adjusted").order_by("id")
    assert [e.data["amount"] for e in events] == [1_000, -250]
    assert events.last().target_id == str(member.pk) and events.last().ip_address == "10.1.1.1"


def test_an_adjustment_below_zero_is_refused_and_writes_nothing(member, moderator):
    services.adjust_balance(user=member, amount=100, reason="Welcome bonus", actor=moderator, source="admin")
    with pytest.raises(InsufficientBalance, match="cannot go below zero"):
        services.adjust_balance(user=member, amount=-101, reason="Too much", actor=moderator, source="admin")
    assert selectors.balance_for(member) == 100
    assert LedgerEntry.objects.count() == 1


@pytest.mark.parametrize(
    ("amount", "reason", "fields"),
    [
        (0, "Some reason", {"amount"}),
        (5, "  ", {"reason"}),
        ("7", "", {"amount", "reason"}),
        (10**12, "Huge", {"amount"}),
        (5, "r" * 501, {"reason"}),
    ],
)
def test_an_adjustment_needs_a_non_zero_amount_and_a_reason(member, moderator, amount, reason, fields):
    with pytest.raises(CreditsValidationError) as error:
        services.adjust_balance(user=member, amount=amount, reason=reason, actor=moderator, source="admin")
    assert set(error.value.fields) == fields


def test_only_moderators_adjust_balances(member):
    with pytest.raises(NotAllowed):
        services.adjust_balance(user=member, amount=10, reason="Self-service", actor=member, source="web")
    assert not LedgerEntry.objects.exists()


def test_a_spend_debits_the_balance_and_never_overdraws(member, moderator):
    services.adjust_balance(
        user=member, amount=300, reason="Starting credits", actor=moderator, source="admin"
    )
    entry = services.spend_credits(user=member, amount=120, reason="Raffle ticket")
    assert (entry.kind, entry.amount, entry.balance_after) == ("spend", -120, 180)
    with pytest.raises(InsufficientBalance):
        services.spend_credits(user=member, amount=181, reason="Raffle ticket")
    assert selectors.balance_for(member) == 180


# --- The ledger's own guarantees ---------------------------------------------------------------


def test_ledger_entries_cannot_be_changed_or_deleted(member, moderator):
    entry = services.adjust_balance(
        user=member, amount=10, reason="Small bonus", actor=moderator, source="admin"
    )
    entry.amount = 10_000
    with pytest.raises(ValueError, match="immutable"):
        entry.save()
    with pytest.raises(ValueError, match="immutable"):
        entry.delete()
    with pytest.raises(ValueError, match="immutable"):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=1)
    with pytest.raises(ValueError, match="immutable"):
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    assert LedgerEntry.objects.get(pk=entry.pk).amount == 10


def test_postgresql_refuses_raw_updates_and_deletes_of_ledger_entries(member, moderator):
    entry = services.adjust_balance(
        user=member, amount=10, reason="Small bonus", actor=moderator, source="admin"
    )
    for statement in (
        "UPDATE credits_ledgerentry SET amount = 99 WHERE id = %s",
        "DELETE FROM credits_ledgerentry WHERE id = %s",
    ):
        with pytest.raises(Exception, match="immutable"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [entry.pk])
    assert LedgerEntry.objects.get(pk=entry.pk).amount == 10


def test_the_database_refuses_a_second_grant_for_the_same_request(member, moderator):
    credit_request = file_request(member)
    services.approve_request(credit_request.pk, actor=moderator, source="admin")
    with pytest.raises(IntegrityError, match="credits_one_grant_per_request"), transaction.atomic():
        LedgerEntry.objects.create(
            user=member,
            amount=500,
            kind="grant",
            request=credit_request,
            actor=moderator,
            balance_after=1_000,
        )


def test_the_database_refuses_a_negative_cached_balance(member):
    CreditAccount.objects.create(user=member, balance=5)
    with pytest.raises(IntegrityError, match="credits_balance_not_negative"), transaction.atomic():
        CreditAccount.objects.filter(pk=member.pk).update(balance=-1)


# --- Selectors ---------------------------------------------------------------------------------


def test_selectors_give_balance_pending_and_all_requests(member, moderator, settings):
    settings.CREDITS_MAX_PENDING = 3
    approved = file_request(member, amount=40)
    services.approve_request(approved.pk, actor=moderator, source="admin")
    pending = [file_request(member, amount=5), file_request(member, amount=6)]
    assert selectors.balance_for(member) == 40
    assert list(selectors.pending_requests_for(member)) == pending[::-1]
    assert list(selectors.requests_for(member)) == [pending[1], pending[0], approved]
    assert selectors.balance_for(UserFactory()) == 0


def test_request_rows_carry_their_users_balance_and_pending_count_in_one_query(
    member, moderator, settings, django_assert_num_queries
):
    settings.CREDITS_MAX_PENDING = 2
    services.approve_request(file_request(member, amount=90).pk, actor=moderator, source="admin")
    file_request(member)
    file_request(member)
    other = file_request(UserFactory())
    with django_assert_num_queries(1):
        rows = {r.pk: r for r in selectors.with_user_figures(selectors.credit_requests())}
    assert {(r.user_balance, r.user_pending_count) for r in rows.values() if r.user_id == member.pk} == {
        (90, 2)
    }
    assert (rows[other.pk].user_balance, rows[other.pk].user_pending_count) == (0, 1)

"""The credits domain events: each sent once, by the service that causes it, inside its transaction.

So what listeners write (the outbox entries of the Discord side) commits or rolls back with the change.
"""

import pytest
from django.db import transaction

from credits import services
from credits.errors import AlreadyDecided, CreditsValidationError
from credits.models import CreditRequest
from credits.signals import credit_request_created, credit_request_decided
from credits.tests.factories import CreditRequestFactory, ModeratorFactory, UserFactory
from dealscale.models import OutboxEntry

pytestmark = pytest.mark.django_db

REASON = "Hosted the weekly community quiz"


class Boom(Exception):
    pass


@pytest.fixture
def member():
    return UserFactory()


@pytest.fixture
def moderator():
    return ModeratorFactory()


@pytest.fixture
def announced():
    """The events received, in order: ("created", id) and ("decided", id, status)."""
    events = []

    def on_created(sender, credit_request_id, **kwargs):
        assert sender is CreditRequest
        events.append(("created", credit_request_id))

    def on_decided(sender, credit_request_id, status, **kwargs):
        assert sender is CreditRequest
        events.append(("decided", credit_request_id, status))

    credit_request_created.connect(on_created)
    credit_request_decided.connect(on_decided)
    yield events
    credit_request_created.disconnect(on_created)
    credit_request_decided.disconnect(on_decided)


def file_request(user, **kwargs):
    return services.request_credits(user=user, amount=500, reason=REASON, origin="web", **kwargs)


def test_a_new_request_is_announced_once_inside_its_transaction(member, announced):
    credit_request = file_request(member)
    assert announced == [("created", credit_request.pk)]


def test_a_retry_with_the_same_idempotency_key_is_not_announced_again(
    member, announced, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = file_request(member, idempotency_key="interaction-1")
    with django_capture_on_commit_callbacks(execute=True):
        again = file_request(member, idempotency_key="interaction-1")
    assert again.pk == first.pk
    assert announced == [("created", first.pk)]


def test_every_decision_is_announced_once_inside_its_transaction_with_the_new_status(
    member, moderator, announced
):
    approved, denied, by_moderator, by_owner = (CreditRequestFactory(user=member) for _ in range(4))
    services.approve_request(approved.pk, actor=moderator, source="admin")
    services.deny_request(denied.pk, actor=moderator, note="Not eligible", source="admin")
    services.cancel_request(by_moderator.pk, actor=moderator, source="admin")
    services.cancel_request(by_owner.pk, actor=member, source="web")
    assert announced == [
        ("decided", approved.pk, "approved"),
        ("decided", denied.pk, "denied"),
        ("decided", by_moderator.pk, "cancelled"),
        ("decided", by_owner.pk, "cancelled"),
    ]


def test_a_rolled_back_request_or_decision_leaves_no_outbox_entry(
    member, moderator, django_capture_on_commit_callbacks
):
    pending = CreditRequestFactory()
    with django_capture_on_commit_callbacks(execute=True) as kicks:
        with pytest.raises(Boom), transaction.atomic():
            file_request(member)
            raise Boom
        with pytest.raises(Boom), transaction.atomic():
            services.approve_request(pending.pk, actor=moderator, source="admin")
            raise Boom
    assert not OutboxEntry.objects.exists()
    assert kicks == []
    assert not CreditRequest.objects.filter(user=member).exists()
    assert CreditRequest.objects.get(pk=pending.pk).status == CreditRequest.Status.PENDING


def test_a_committed_request_and_decision_leave_their_outbox_entries(member, moderator):
    credit_request = file_request(member)
    services.approve_request(credit_request.pk, actor=moderator, source="admin")
    assert sorted(OutboxEntry.objects.values_list("kind", flat=True)) == [
        "discordbot.decision_dm",
        "discordbot.moderation_edit",
        "discordbot.moderation_post",
    ]


def test_a_refused_decision_is_not_announced(member, moderator, announced):
    credit_request = CreditRequestFactory(user=member)
    services.deny_request(credit_request.pk, actor=moderator, note="Not eligible", source="admin")
    with pytest.raises(AlreadyDecided):
        services.approve_request(credit_request.pk, actor=moderator, source="admin")
    with pytest.raises(CreditsValidationError):
        services.deny_request(CreditRequestFactory(user=member).pk, actor=moderator, note="", source="api")
    assert announced == [("decided", credit_request.pk, "denied")]


def test_a_listener_that_cannot_write_its_part_fails_the_decision_with_it(member, moderator):
    # Inside the transaction: a decision never commits without the effects its listeners record.
    credit_request = CreditRequestFactory(user=member)

    def broken_listener(sender, **kwargs):
        raise Boom

    credit_request_decided.connect(broken_listener)
    try:
        with pytest.raises(Boom):
            services.approve_request(credit_request.pk, actor=moderator, source="admin")
    finally:
        credit_request_decided.disconnect(broken_listener)
    assert CreditRequest.objects.get(pk=credit_request.pk).status == CreditRequest.Status.PENDING
    assert not credit_request.ledger_entries.exists()
    assert not OutboxEntry.objects.exists()

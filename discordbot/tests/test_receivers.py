"""The credits events reach Discord through one module: each event writes its deliveries to the outbox, once."""

import pytest
from celery.app.task import Task
from kombu.exceptions import OperationalError

from credits import services
from credits.models import CreditRequest
from credits.tests.factories import CreditRequestFactory, ModeratorFactory, UserFactory
from dealscale.models import OutboxEntry
from discordbot import deliveries, tasks

pytestmark = pytest.mark.django_db


def ids(outbox_worker, kind) -> list[int]:
    return [payload["credit_request_id"] for payload in outbox_worker.payloads(kind)]


def test_a_new_request_writes_only_its_post_to_the_moderators_and_kicks_it_after_commit(
    outbox_worker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as kicks:
        credit_request = services.request_credits(
            user=UserFactory(), amount=10, reason="Helped new members all week", origin="discord"
        )

    assert ids(outbox_worker, deliveries.MODERATION_POST) == [credit_request.pk]
    assert ids(outbox_worker, deliveries.MODERATION_EDIT) == ids(outbox_worker, deliveries.DECISION_DM) == []
    assert len(kicks) == 1


def test_every_decision_writes_the_moderators_message_edit_and_the_member_dm_once(outbox_worker):
    member, moderator = UserFactory(), ModeratorFactory()
    approved, denied, by_moderator, by_owner = (CreditRequestFactory(user=member) for _ in range(4))
    services.approve_request(approved.pk, actor=moderator, source="admin")
    services.deny_request(denied.pk, actor=moderator, note="Not eligible", source="admin")
    services.cancel_request(by_moderator.pk, actor=moderator, source="admin")
    services.cancel_request(by_owner.pk, actor=member, source="web")

    decided = [approved.pk, denied.pk, by_moderator.pk, by_owner.pk]
    assert ids(outbox_worker, deliveries.MODERATION_EDIT) == decided
    # The DM delivery itself leaves out the owner's own cancel (test_decision_dm.py).
    assert ids(outbox_worker, deliveries.DECISION_DM) == decided
    assert ids(outbox_worker, deliveries.MODERATION_POST) == []


def test_the_same_event_sent_twice_writes_its_deliveries_once(outbox_worker):
    credit_request = CreditRequestFactory()
    services.approve_request(credit_request.pk, actor=ModeratorFactory(), source="admin")
    tasks.notify_decision(credit_request.pk)
    tasks.update_moderation_message(credit_request.pk)

    assert len(outbox_worker.entries()) == 2


def test_a_failing_broker_does_not_turn_a_committed_decision_into_an_error_and_loses_nothing(
    monkeypatch, django_capture_on_commit_callbacks
):
    def refuse(self, *args, **kwargs):
        raise OperationalError("[Errno 111] Connection refused")

    monkeypatch.setattr(Task, "apply_async", refuse)
    credit_request = CreditRequestFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.approve_request(credit_request.pk, actor=ModeratorFactory(), source="admin")

    assert CreditRequest.objects.get(pk=credit_request.pk).status == CreditRequest.Status.APPROVED
    # Not handed to the broker: the relay hands them over at its next run.
    entries = OutboxEntry.objects.all()
    assert [(e.status, e.handed_at) for e in entries] == [("pending", None)] * 2


def test_the_tasks_keep_the_names_queued_messages_carry():
    assert (
        tasks.post_credit_request_to_moderators.name == "discordbot.tasks.post_credit_request_to_moderators"
    )
    assert tasks.update_moderation_message.name == "discordbot.tasks.update_moderation_message"
    assert tasks.notify_decision.name == "credits.tasks.notify_decision"

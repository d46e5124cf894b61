"""The credits events reach Discord through one module: each event queues its deliveries, once."""

from unittest import mock

import pytest

from credits import services
from credits.models import CreditRequest
from credits.tests.factories import CreditRequestFactory, ModeratorFactory, UserFactory
from discordbot import tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued():
    """The ids each Discord delivery task was queued with, by task."""
    with (
        mock.patch("discordbot.tasks.post_credit_request_to_moderators.delay") as post,
        mock.patch("discordbot.tasks.update_moderation_message.delay") as update,
        mock.patch("discordbot.tasks.notify_decision.delay") as dm,
    ):
        yield {"post": post, "update": update, "dm": dm}


def ids(delay) -> list[int]:
    return [call.args[0] for call in delay.call_args_list]


def test_a_new_request_queues_only_its_post_to_the_moderators_after_commit(
    queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        credit_request = services.request_credits(
            user=UserFactory(), amount=10, reason="Helped new members all week", origin="discord"
        )
        assert ids(queued["post"]) == []

    assert ids(queued["post"]) == [credit_request.pk]
    assert ids(queued["update"]) == ids(queued["dm"]) == []


def test_every_decision_queues_the_moderators_message_edit_and_the_member_dm_once(
    queued, django_capture_on_commit_callbacks
):
    member, moderator = UserFactory(), ModeratorFactory()
    approved, denied, by_moderator, by_owner = (CreditRequestFactory(user=member) for _ in range(4))
    with django_capture_on_commit_callbacks(execute=True):
        services.approve_request(approved.pk, actor=moderator, source="admin")
        services.deny_request(denied.pk, actor=moderator, note="Not eligible", source="admin")
        services.cancel_request(by_moderator.pk, actor=moderator, source="admin")
        services.cancel_request(by_owner.pk, actor=member, source="web")

    decided = [approved.pk, denied.pk, by_moderator.pk, by_owner.pk]
    assert ids(queued["update"]) == decided
    # The DM task itself leaves out the owner's own cancel (test_decision_dm.py).
    assert ids(queued["dm"]) == decided
    assert ids(queued["post"]) == []


def test_a_failing_broker_does_not_turn_a_committed_decision_into_an_error(
    django_capture_on_commit_callbacks,
):
    credit_request = CreditRequestFactory()
    with (
        mock.patch(
            "discordbot.tasks.update_moderation_message.delay", side_effect=ConnectionError("broker down")
        ),
        mock.patch(
            "discordbot.tasks.notify_decision.delay", side_effect=ConnectionError("broker down")
        ) as dm,
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.approve_request(credit_request.pk, actor=ModeratorFactory(), source="admin")

    dm.assert_called_once_with(credit_request.pk)
    assert CreditRequest.objects.get(pk=credit_request.pk).status == CreditRequest.Status.APPROVED


def test_the_tasks_keep_the_names_queued_messages_carry():
    assert (
        tasks.post_credit_request_to_moderators.name == "discordbot.tasks.post_credit_request_to_moderators"
    )
    assert tasks.update_moderation_message.name == "discordbot.tasks.update_moderation_message"
    assert tasks.notify_decision.name == "credits.tasks.notify_decision"

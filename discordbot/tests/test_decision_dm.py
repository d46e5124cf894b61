"""A decided credit request is DMed to its member (task `credits.tasks.notify_decision`, kept from its first home)."""

import pytest
from allauth.socialaccount.models import SocialAccount

from credits import services
from credits.models import CreditRequest
from credits.tests.factories import CreditRequestFactory, ModeratorFactory, UserFactory
from discordbot.tasks import MAX_RETRIES, notify_decision

pytestmark = pytest.mark.django_db

MESSAGES = "/channels/{channel_id}/messages"
# The client retries a few times itself; more failures than that reach the task's own retry.
BEYOND_CLIENT_RETRIES = 5


@pytest.fixture(autouse=True)
def _retries_run_inline():
    # An eager retry is re-applied inline only when errors are not propagated; a worker never propagates.
    conf = notify_decision.app.conf
    previous, conf.task_eager_propagates = conf.task_eager_propagates, False
    yield
    conf.task_eager_propagates = previous


@pytest.fixture
def moderator():
    return ModeratorFactory()


@pytest.fixture
def linked_member(fake_discord):
    member = UserFactory()
    discord_user = fake_discord.add_user(username="dmme")
    SocialAccount.objects.create(user=member, provider="discord", uid=discord_user["id"])
    return member, discord_user["id"]


def approved_request(member, moderator, *, amount=1_200, note="Enjoy!") -> CreditRequest:
    credit_request = CreditRequestFactory(user=member, amount=amount)
    return services.approve_request(credit_request.pk, actor=moderator, note=note, source="admin")


def test_an_approval_is_sent_as_a_dm_to_the_linked_member(fake_discord, linked_member, moderator):
    member, discord_id = linked_member
    credit_request = approved_request(member, moderator)

    result = notify_decision.apply(args=[credit_request.pk])

    assert result.successful()
    [dm] = fake_discord.dms_to(discord_id)
    [embed] = dm["embeds"]
    assert embed["title"] == "Credit request approved"
    assert embed["description"] == credit_request.reason
    assert embed["color"] == 0x2ECC71
    assert embed["timestamp"] == credit_request.decided_at.isoformat()
    assert embed["footer"] == {"text": "DealScale"}
    assert {f["name"]: f["value"] for f in embed["fields"]} == {
        "Amount": "1,200 credits",
        "Request": f"#{credit_request.pk}",
        "Note": "Enjoy!",
    }
    [call] = fake_discord.requests_to("POST", "/users/@me/channels")
    assert call.json == {"recipient_id": discord_id}
    assert call.headers["Authorization"].startswith("Bot ")


def test_a_denial_dm_carries_the_reason(fake_discord, linked_member, moderator):
    member, discord_id = linked_member
    credit_request = CreditRequestFactory(user=member)
    services.deny_request(credit_request.pk, actor=moderator, note="No proof attached", source="admin")
    notify_decision.apply(args=[credit_request.pk])
    [dm] = fake_discord.dms_to(discord_id)
    assert dm["embeds"][0]["title"] == "Credit request denied"
    assert {"name": "Note", "value": "No proof attached", "inline": False} in dm["embeds"][0]["fields"]


def test_a_moderator_cancelling_a_request_tells_the_member(fake_discord, linked_member, moderator):
    member, discord_id = linked_member
    credit_request = CreditRequestFactory(user=member)
    services.cancel_request(credit_request.pk, actor=moderator, note="Filed twice", source="admin")

    assert notify_decision.apply(args=[credit_request.pk]).successful()

    [dm] = fake_discord.dms_to(discord_id)
    assert dm["embeds"][0]["title"] == "Credit request cancelled"
    assert {"name": "Note", "value": "Filed twice", "inline": False} in dm["embeds"][0]["fields"]


def test_a_member_cancelling_their_own_request_is_not_told_what_they_did(fake_discord, linked_member):
    member, _ = linked_member
    credit_request = CreditRequestFactory(user=member)
    services.cancel_request(credit_request.pk, actor=member, source="web")

    assert notify_decision.apply(args=[credit_request.pk]).successful()

    assert fake_discord.requests == []


def test_no_dm_is_attempted_when_discord_is_not_linked(fake_discord, moderator):
    credit_request = approved_request(UserFactory(), moderator)
    assert notify_decision.apply(args=[credit_request.pk]).successful()
    assert fake_discord.requests == []


def test_a_pending_or_unknown_request_sends_nothing(fake_discord, linked_member):
    member, _ = linked_member
    notify_decision.apply(args=[CreditRequestFactory(user=member).pk])
    notify_decision.apply(args=[987_654])
    assert fake_discord.requests == []


def test_a_rate_limited_dm_is_retried_by_the_task_until_it_goes_through(
    fake_discord, linked_member, moderator
):
    member, discord_id = linked_member
    credit_request = approved_request(member, moderator)
    fake_discord.fail_next("POST", MESSAGES, status=429, retry_after=0.02, times=BEYOND_CLIENT_RETRIES)

    result = notify_decision.apply(args=[credit_request.pk])

    assert result.successful()
    assert len(fake_discord.dms_to(discord_id)) == 1
    statuses = [r.status for r in fake_discord.requests_to("POST", MESSAGES)]
    assert statuses == [429] * BEYOND_CLIENT_RETRIES + [200]


def test_a_discord_outage_is_retried_by_the_task(fake_discord, linked_member, moderator):
    member, discord_id = linked_member
    credit_request = approved_request(member, moderator)
    fake_discord.fail_next("POST", MESSAGES, status=503, times=BEYOND_CLIENT_RETRIES)

    assert notify_decision.apply(args=[credit_request.pk]).successful()
    assert len(fake_discord.dms_to(discord_id)) == 1


def test_closed_dms_are_given_up_without_retry_and_the_decision_stands(fake_discord, moderator):
    member = UserFactory()
    closed = fake_discord.add_user(username="private", dms_closed=True)
    SocialAccount.objects.create(user=member, provider="discord", uid=closed["id"])
    credit_request = approved_request(member, moderator, amount=300)

    result = notify_decision.apply(args=[credit_request.pk])

    assert result.successful()
    assert [r.status for r in fake_discord.requests_to("POST", MESSAGES)] == [403]
    credit_request.refresh_from_db()
    assert credit_request.status == "approved"
    assert member.credit_account.balance == 300


def test_a_dm_that_keeps_failing_stops_after_the_retry_budget_and_the_decision_stands(
    fake_discord, linked_member, moderator
):
    member, discord_id = linked_member
    credit_request = approved_request(member, moderator)
    fake_discord.fail_next("POST", MESSAGES, status=503, times=1_000)

    result = notify_decision.apply(args=[credit_request.pk])

    assert result.failed()
    # Each of the 1 + MAX_RETRIES runs of the task made the client's full set of attempts.
    assert len(fake_discord.requests_to("POST", MESSAGES)) == BEYOND_CLIENT_RETRIES * (MAX_RETRIES + 1)
    assert fake_discord.dms_to(discord_id) == []
    credit_request.refresh_from_db()
    assert credit_request.status == "approved"

"""A decided credit request is DMed to its member, once, from its outbox entry (discordbot.decision_dm)."""

import pytest
from allauth.socialaccount.models import SocialAccount

from credits import services
from credits.models import CreditRequest
from credits.tests.factories import CreditRequestFactory, ModeratorFactory, UserFactory
from dealscale import outbox
from dealscale.models import OutboxEntry
from discord_sandbox.state import NONCE_WINDOW
from discordbot import deliveries
from discordbot.tasks import notify_decision

pytestmark = pytest.mark.django_db

MESSAGES = "/channels/{channel_id}/messages"
# The client retries a few times itself; more failures than that reach the task's own retry.
BEYOND_CLIENT_RETRIES = 5


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


def dm_entry(credit_request_id: int) -> OutboxEntry:
    return OutboxEntry.objects.get(key=deliveries.decision_dm_key(credit_request_id))


def test_an_approval_is_sent_as_a_dm_to_the_linked_member(
    fake_discord, linked_member, moderator, outbox_worker
):
    member, discord_id = linked_member
    credit_request = approved_request(member, moderator)

    outbox_worker.run()

    assert dm_entry(credit_request.pk).status == "delivered"
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


def test_a_denial_dm_carries_the_reason(fake_discord, linked_member, moderator, outbox_worker):
    member, discord_id = linked_member
    credit_request = CreditRequestFactory(user=member)
    services.deny_request(credit_request.pk, actor=moderator, note="No proof attached", source="admin")
    outbox_worker.run()
    [dm] = fake_discord.dms_to(discord_id)
    assert dm["embeds"][0]["title"] == "Credit request denied"
    assert {"name": "Note", "value": "No proof attached", "inline": False} in dm["embeds"][0]["fields"]


def test_a_moderator_cancelling_a_request_tells_the_member(
    fake_discord, linked_member, moderator, outbox_worker
):
    member, discord_id = linked_member
    credit_request = CreditRequestFactory(user=member)
    services.cancel_request(credit_request.pk, actor=moderator, note="Filed twice", source="admin")

    outbox_worker.run()

    [dm] = fake_discord.dms_to(discord_id)
    assert dm["embeds"][0]["title"] == "Credit request cancelled"
    assert {"name": "Note", "value": "Filed twice", "inline": False} in dm["embeds"][0]["fields"]


def test_a_member_cancelling_their_own_request_is_not_told_what_they_did(
    fake_discord, linked_member, outbox_worker
):
    member, _ = linked_member
    credit_request = CreditRequestFactory(user=member)
    services.cancel_request(credit_request.pk, actor=member, source="web")

    outbox_worker.run()

    assert fake_discord.requests == []
    assert dm_entry(credit_request.pk).result == {"skipped": "cancelled by the member"}


def test_no_dm_is_attempted_when_discord_is_not_linked(fake_discord, moderator, outbox_worker):
    credit_request = approved_request(UserFactory(), moderator)
    outbox_worker.run()
    assert fake_discord.requests == []
    assert dm_entry(credit_request.pk).status == "delivered"


def test_a_pending_or_unknown_request_sends_nothing(fake_discord, linked_member, outbox_worker):
    member, _ = linked_member
    # A message queued before the outbox still arrives under the task's old name.
    notify_decision(CreditRequestFactory(user=member).pk)
    notify_decision(987_654)
    outbox_worker.run()
    assert fake_discord.requests == []
    assert [e.result for e in outbox_worker.entries(deliveries.DECISION_DM)] == [
        {"skipped": "the request is not decided"}
    ] * 2


def test_a_rate_limited_dm_is_retried_by_the_outbox_until_it_goes_through(
    fake_discord,
    linked_member,
    moderator,
    outbox_worker,
):
    member, discord_id = linked_member
    credit_request = approved_request(member, moderator)
    fake_discord.fail_next("POST", MESSAGES, status=429, retry_after=0.02, times=BEYOND_CLIENT_RETRIES)

    outbox_worker.drain()

    assert len(fake_discord.dms_to(discord_id)) == 1
    statuses = [r.status for r in fake_discord.requests_to("POST", MESSAGES)]
    assert statuses == [429] * BEYOND_CLIENT_RETRIES + [200]
    entry = dm_entry(credit_request.pk)
    assert (entry.status, entry.attempts) == ("delivered", 2)
    assert "rate limit" in entry.last_error


def test_a_discord_outage_is_retried_by_the_outbox(fake_discord, linked_member, moderator, outbox_worker):
    member, discord_id = linked_member
    credit_request = approved_request(member, moderator)
    fake_discord.fail_next("POST", MESSAGES, status=503, times=BEYOND_CLIENT_RETRIES)

    outbox_worker.run()
    entry = dm_entry(credit_request.pk)
    assert entry.status == "pending" and entry.next_attempt_at > entry.created_at
    outbox_worker.drain()
    assert len(fake_discord.dms_to(discord_id)) == 1


def test_closed_dms_are_given_up_without_retry_and_the_decision_stands(
    fake_discord, moderator, outbox_worker
):
    member = UserFactory()
    closed = fake_discord.add_user(username="private", dms_closed=True)
    SocialAccount.objects.create(user=member, provider="discord", uid=closed["id"])
    credit_request = approved_request(member, moderator, amount=300)

    outbox_worker.run()

    assert dm_entry(credit_request.pk).status == "delivered"
    assert [r.status for r in fake_discord.requests_to("POST", MESSAGES)] == [403]
    credit_request.refresh_from_db()
    assert credit_request.status == "approved"
    assert member.credit_account.balance == 300


def test_a_dm_that_keeps_failing_stops_after_the_retry_budget_and_the_decision_stands(
    fake_discord, linked_member, moderator, settings, outbox_worker
):
    member, discord_id = linked_member
    credit_request = approved_request(member, moderator)
    settings.OUTBOX_MAX_ATTEMPTS = 3
    fake_discord.fail_next("POST", MESSAGES, status=503, times=1_000)

    outbox_worker.drain()

    entry = dm_entry(credit_request.pk)
    assert (entry.status, entry.attempts) == ("failed", 3)
    assert "Discord unavailable" in entry.last_error
    # Each of the outbox's attempts made the client's full set of attempts.
    assert len(fake_discord.requests_to("POST", MESSAGES)) == BEYOND_CLIENT_RETRIES * 3
    assert fake_discord.dms_to(discord_id) == []
    credit_request.refresh_from_db()
    assert credit_request.status == "approved"


def test_a_dm_whose_response_is_lost_after_discord_created_it_arrives_once(
    fake_discord, linked_member, moderator, outbox_worker
):
    member, discord_id = linked_member
    credit_request = approved_request(member, moderator)
    # Discord creates the message, then the connection drops: the client retries with the same nonce.
    fake_discord.fail_next("POST", MESSAGES, disconnect=True, after_work=True, times=2)

    outbox_worker.drain()

    [dm] = fake_discord.dms_to(discord_id)
    posts = fake_discord.requests_to("POST", MESSAGES)
    assert len(posts) == 3 and {p.json["nonce"] for p in posts} == {dm["nonce"]}
    assert all(p.json["enforce_nonce"] is True for p in posts)
    assert len(dm["nonce"]) <= 25
    assert dm_entry(credit_request.pk).result == {"channel_id": dm["channel_id"], "message_id": dm["id"]}


def test_a_dm_rerun_after_the_nonce_window_relies_on_the_stored_message_id(
    fake_discord, linked_member, moderator, outbox_worker
):
    member, discord_id = linked_member
    credit_request = approved_request(member, moderator)
    outbox_worker.run()
    [dm] = fake_discord.dms_to(discord_id)
    # The worker died after Discord answered and the id was kept, before the entry was marked; minutes
    # pass, so Discord no longer remembers the nonce.
    OutboxEntry.objects.filter(pk=dm_entry(credit_request.pk).pk).update(
        status="delivering", delivered_at=None
    )
    fake_discord.advance_clock(NONCE_WINDOW + 1)

    notify_decision(credit_request.pk)  # even a message queued before the outbox
    assert outbox.deliver(dm_entry(credit_request.pk).pk) == "delivered"

    assert fake_discord.dms_to(discord_id) == [dm]

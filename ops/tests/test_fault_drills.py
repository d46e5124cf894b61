"""Fault drills with real processes: Redis stops, a worker is killed, Discord storms. Nothing lost, nothing doubled.

Each drill runs a private redis-server and real `celery -A dealscale worker` processes against the test
database and the fake Discord (ops/tests/drills.py), and ends with the data-safety check: the ledger
verifies, every outbox entry is delivered, and the fake counts one moderators' post, one DM and one edit
per event. Waits are bounded; nothing asserts how long a step took.
"""

import copy
from collections import Counter
from types import SimpleNamespace

import pytest
from allauth.socialaccount.models import SocialAccount
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import AuditEvent
from accounts.services import create_api_token, unlink_discord
from credits import services as credits
from credits.models import CreditRequest
from credits.tests.factories import CreditRequestFactory, ModeratorFactory, UserFactory
from dealscale import outbox
from dealscale.models import OutboxEntry
from discord_sandbox import DEFAULT_CHANNEL_ID, GUILD_ID
from ops.tests.drills import PrivateRedis, Worker, celery_pointed_at, wait_for, worker_env
from rolesync.tests.factories import MilestoneFactory, TrackFactory

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGES = "/channels/{channel_id}/messages"
EDIT = "/channels/{channel_id}/messages/{message_id}"
OPEN_DM = "/users/@me/channels"
MEMBER_ROLE = "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"
REASON = "Ran the weekly community quiz"


@pytest.fixture
def drill(transactional_db, fake_discord, settings, tmp_path):
    settings.DISCORD_MOD_CHANNEL_ID = DEFAULT_CHANNEL_ID
    # The relay runs in the test process (beat's job): it hands a lost message's entry again after 3 s.
    settings.OUTBOX_HANDOFF_TIMEOUT_SECONDS = 3
    private_redis = PrivateRedis(tmp_path).start()
    workers: list[Worker] = []

    def start_worker(name: str) -> Worker:
        env = worker_env(private_redis=private_redis, fake_discord=fake_discord)
        worker = Worker(name, env, tmp_path)
        workers.append(worker)
        return worker.start()

    try:
        with celery_pointed_at(private_redis.url(0)):
            yield SimpleNamespace(
                redis=private_redis, fake=fake_discord, start_worker=start_worker, workers=workers
            )
    finally:
        for worker in workers:
            worker.kill()  # the drill is over: no need to wait for a warm shutdown
        private_redis.stop()


def linked_member(fake, name: str):
    user = UserFactory(username=name)
    discord_user = fake.add_user(username=name)
    SocialAccount.objects.create(user=user, provider="discord", uid=discord_user["id"])
    return user, discord_user["id"]


def api_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {create_api_token(user=user)[1]}")
    return client


def settle(drill, *, relay: bool, timeout: float = 90) -> None:
    """Wait until every outbox entry is delivered; with `relay`, run the relay as beat would meanwhile."""

    def settled() -> bool:
        if relay:
            outbox.relay()
        return not OutboxEntry.objects.exclude(status=OutboxEntry.Status.DELIVERED).exists()

    try:
        wait_for(settled, timeout=timeout, what="every outbox entry delivered", interval=0.3)
    except AssertionError as exc:
        states = list(OutboxEntry.objects.values_list("pk", "kind", "status", "attempts", "last_error"))
        logs = "\n".join(f"--- {w.name}\n{w.log()[-60000:]}" for w in drill.workers)
        raise AssertionError(f"{exc}\n{states}\n{logs}") from None


def assert_ledger_verifies() -> None:
    call_command("verify_ledger")  # raises CommandError on any drift


def assert_messages_once(fake) -> None:
    """No two messages share a nonce: no event was posted twice."""
    nonces = Counter(m.get("nonce") for m in fake.sent_messages())
    assert nonces and all(len(n) <= 25 for n in nonces if n)
    assert [n for n, count in nonces.items() if count > 1] == []


def moderation_posts(fake) -> Counter:
    return Counter(m["embeds"][0]["title"] for m in fake.sent_messages(DEFAULT_CHANNEL_ID))


def test_redis_stopping_under_traffic_commits_the_writes_and_delivers_every_effect_once_it_returns(
    drill, settings
):
    # The web's cache and throttles live on the same Redis, as in production.
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["LOCATION"] = drill.redis.url(2)
    settings.CACHES = caches
    drill.start_worker("a")
    moderator = api_for(ModeratorFactory())
    members = [linked_member(drill.fake, f"member{n}") for n in range(6)]

    def file_request(user) -> int:
        response = api_for(user).post("/api/credit-requests", {"amount": 50, "reason": REASON}, format="json")
        assert response.status_code == 201, response.content
        return response.json()["id"]

    before = [file_request(user) for user, _ in members[:3]]
    wait_for(
        lambda: len(drill.fake.sent_messages(DEFAULT_CHANNEL_ID)) == 3, timeout=60, what="the first posts"
    )

    drill.redis.stop()
    during = [file_request(user) for user, _ in members[3:]]
    approved = before[:2] + during[:2]
    for request_id in approved:
        response = moderator.post(
            f"/api/admin/credit-requests/{request_id}/approve", {"note": ""}, format="json"
        )
        assert response.status_code == 200, response.content
    # Committed, and kept: nothing could be handed to the broker.
    assert CreditRequest.objects.filter(pk__in=approved, status="approved").count() == 4
    waiting = OutboxEntry.objects.exclude(status="delivered")
    assert waiting.count() == 3 + 4 * 2 and not waiting.filter(handed_at__isnull=False).exists()

    drill.redis.start()  # empty: whatever the broker held is gone, the outbox is not
    settle(drill, relay=True)

    assert_ledger_verifies()
    # One post per request still pending when it went out: those approved during the outage need none.
    posted = before + during[2:]
    assert moderation_posts(drill.fake) == Counter({f"Credit request #{pk}": 1 for pk in posted})
    approved_members = {members[i][1] for i in (0, 1, 3, 4)}
    for _, discord_id in members:
        assert len(drill.fake.dms_to(discord_id)) == (1 if discord_id in approved_members else 0)
    edited = {
        m["embeds"][0]["title"] for m in drill.fake.sent_messages(DEFAULT_CHANNEL_ID) if m["components"] == []
    }
    assert edited == {f"Credit request #{pk}" for pk in before[:2]}
    assert_messages_once(drill.fake)


def test_a_worker_killed_with_dms_and_role_changes_in_flight_is_finished_by_a_new_worker(drill):
    fake = drill.fake
    role = fake.add_role(GUILD_ID, name="Top 10", position=5)["id"]
    MilestoneFactory(
        track=TrackFactory(name="Rank tiers", exclusive=True), name="Top 10", discord_role_id=role
    )
    leavers = []
    for n in range(4):
        user, discord_id = linked_member(fake, f"leaver{n}")
        user.set_password("drill-password-1")
        user.save()
        fake.add_member(GUILD_ID, discord_id, roles=[role])
        leavers.append((user, discord_id))
    decided = [linked_member(fake, f"member{n}") for n in range(10)]
    pending = [CreditRequestFactory(user=user, amount=100) for user, _ in decided]
    moderator = ModeratorFactory()
    # Slow Discord down so that calls are in flight when the worker dies.
    fake.fail_next("POST", MESSAGES, hang=0.5, times=1_000)
    fake.fail_next("DELETE", MEMBER_ROLE, hang=0.5, times=1_000)
    worker = drill.start_worker("a")

    for credit_request in pending:
        credits.approve_request(credit_request.pk, actor=moderator, source="admin")
    for user, _ in leavers:
        unlink_discord(user=user, actor=user, source=AuditEvent.Source.WEB)

    def in_flight(n: int) -> bool:
        return len(fake.requests_to("POST", MESSAGES)) + len(fake.requests_to("DELETE", MEMBER_ROLE)) >= n

    wait_for(lambda: in_flight(2), timeout=60, what="the first calls")
    # The pool processes die (the OOM killer): their tasks go back to the queue at once
    # (reject_on_worker_lost) and the main process starts new ones.
    worker.kill_pool()
    wait_for(lambda: in_flight(5), timeout=60, what="the worker to go on")
    # Then the whole worker dies: its unacknowledged tasks come back after the visibility timeout.
    worker.kill()
    assert OutboxEntry.objects.exclude(status="delivered").exists()

    drill.start_worker("b")
    # Redelivery brings back what the dead worker had taken (acks_late, the visibility timeout, the advisory
    # lock gone with the worker). A message it was taking at the moment of the kill is in neither the queue
    # nor the unacknowledged set (kombu's Redis transport pops it, then records it): only the relay, which
    # beat runs every 10 s, hands that entry again (a full-suite run once lost one this way).
    settle(drill, relay=True)

    assert_ledger_verifies()
    for _, discord_id in decided:
        assert len(fake.dms_to(discord_id)) == 1
    for _, discord_id in leavers:
        assert role not in fake.member_roles(GUILD_ID, discord_id)
    assert_messages_once(fake)


def test_discord_storms_hangs_and_lost_responses_deliver_every_message_once(drill):
    fake = drill.fake
    fake.set_rate_limit("POST", MESSAGES, limit=2, window=1.0)
    members = [linked_member(fake, f"member{n}") for n in range(6)]
    drill.start_worker("a")

    # A storm on the moderators' posts: more 502s than the client retries, then 429s.
    fake.fail_next("POST", MESSAGES, status=502, times=12)
    fake.fail_next("POST", MESSAGES, status=429, retry_after=0.3, times=4)
    requests = [
        credits.request_credits(user=user, amount=10, reason=REASON, origin="web") for user, _ in members
    ]
    settle(drill, relay=True)

    # Then the DMs and edits: responses lost after Discord created the message, hung calls, 5xx.
    fake.fail_next("POST", MESSAGES, disconnect=True, after_work=True, times=3)
    fake.fail_next("POST", MESSAGES, hang=1.5, disconnect=True, times=2)
    fake.fail_next("POST", OPEN_DM, status=500, times=6)
    fake.fail_next("PATCH", EDIT, status=503, times=6)
    moderator = ModeratorFactory()
    for credit_request in requests:
        credits.approve_request(credit_request.pk, actor=moderator, source="admin")
    settle(drill, relay=True)

    assert_ledger_verifies()
    assert moderation_posts(fake) == Counter({f"Credit request #{r.pk}": 1 for r in requests})
    assert all(m["components"] == [] for m in fake.sent_messages(DEFAULT_CHANNEL_ID))
    for _, discord_id in members:
        assert len(fake.dms_to(discord_id)) == 1
    assert_messages_once(fake)
    # The drill did what it says: some messages were created by a call whose answer was lost.
    lost = {r.json["nonce"] for r in fake.requests_to("POST", MESSAGES) if r.handled and r.status == 0}
    assert lost & {m.get("nonce") for m in fake.sent_messages()}
    # The governor kept the bucket: at most one 429 of the route's own limit per window.
    assert max(fake.limited_windows.values(), default=0) <= 1
    assert OutboxEntry.objects.filter(attempts__gt=1).exists()  # the outbox did retry

"""End to end: the real `manage.py runbot` process against the fake Discord (gateway websocket + REST).

The bot runs in a subprocess with the test database and Redis; the tests push real-shaped INTERACTION_CREATE
payloads through the gateway and assert what the bot sent: the first response to the interaction callback
endpoint (a deferral, see docs/bot.md), then the answer through the interaction's webhook.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.db import connection
from django.utils import timezone
from waffle.models import Flag

from credits.models import CreditRequest
from credits.tests.factories import CreditRequestFactory, ModeratorFactory, UserFactory
from discord_sandbox import APPLICATION_ID, BOT_TOKEN, DEFAULT_CHANNEL_ID
from discordbot import components, limits
from discordbot.models import BotHeartbeat, CommandInvocation
from discordbot.tests.slow_runbot import MARKER_HEADER
from leaderboard.models import ScoreTotal
from leaderboard.periods import ALL_TIME_START
from leaderboard.services import recalculate_leaderboard

pytestmark = pytest.mark.django_db(transaction=True)

BASE_DIR = Path(settings.BASE_DIR)
EPHEMERAL = 64
DEFERRED_CHANNEL_MESSAGE = 5
DEFERRED_UPDATE_MESSAGE = 6
CALLBACK_ROUTE = "/interactions/{interaction_id}/{interaction_token}/callback"
# Past Discord's 3-second deadline for the first response.
SLOWED_SECONDS = 3.5
COMMAND_ROUTES = (
    "/applications/{application_id}/commands",
    "/applications/{application_id}/guilds/{guild_id}/commands",
)


def bot_environment(fake_discord, **overrides) -> dict:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DEBUG": "true",
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": "memory://",
        "DISCORD_API_BASE_URL": fake_discord.base_url,
        "DISCORD_BOT_TOKEN": BOT_TOKEN,
        "DISCORD_CLIENT_ID": APPLICATION_ID,
        "SITE_URL": "https://dealscale.example",
        "BOT_HEARTBEAT_INTERVAL_SECONDS": "0.5",
        "BOT_COOLDOWN_SECONDS": "0",
        "BOT_REQUEST_CREDITS_COOLDOWN_SECONDS": "0",
        "LOG_FORMAT": "console",
    }
    env.update(overrides)
    return env


class RunningBot:
    def __init__(self, process: subprocess.Popen, log_path: Path):
        self.process = process
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig=signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


def start_bot(
    fake_discord, tmp_path, *args, slowed: tuple[str, ...] = (), broken: tuple[str, ...] = (), **env_overrides
) -> RunningBot:
    """`manage.py runbot`, or with `slowed` / `broken` (`module:function` names) the same bot with those
    functions slowed past Discord's deadline / raising (discordbot/tests/slow_runbot.py)."""
    log_path = tmp_path / "runbot.log"
    log = log_path.open("w")
    command = [sys.executable, "manage.py", "runbot"]
    if slowed:
        command = [sys.executable, "-m", "discordbot.tests.slow_runbot"]
        env_overrides = {
            "SLOWED": ",".join(slowed),
            "SLOWED_SECONDS": str(SLOWED_SECONDS),
            "BROKEN": ",".join(broken),
            **env_overrides,
        }
    process = subprocess.Popen(
        [*command, *args],
        cwd=BASE_DIR,
        env=bot_environment(fake_discord, **env_overrides),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return RunningBot(process, log_path)


@pytest.fixture
def running_bot(fake_discord, tmp_path):
    bot = start_bot(fake_discord, tmp_path)
    try:
        fake_discord.wait_until(
            lambda: BotHeartbeat.objects.exists() or bot.process.poll() is not None, timeout=30
        )
        assert bot.process.poll() is None, bot.log()
        yield bot
    finally:
        if bot.process.poll() is None:
            bot.process.kill()
            bot.process.wait(timeout=10)


@pytest.fixture
def integration_on():
    Flag.objects.update_or_create(name="discord_integration", defaults={"everyone": True})


def linked_member(fake_discord, *, username: str, factory=UserFactory):
    discord_user = fake_discord.add_user(username=username)
    # A site name unlike the Discord one, so the answers show which of the two they print.
    user = factory(username=username, display_name=f"{username} on the site")
    SocialAccount.objects.create(
        user=user, provider="discord", uid=discord_user["id"], extra_data=discord_user
    )
    return user, discord_user["id"]


def slash(fake_discord, name: str, *, user_id: str, options: list[dict] | None = None, resolved=None) -> dict:
    data = {"id": fake_discord.snowflake(), "name": name, "type": 1, "options": options or []}
    if not options:
        del data["options"]  # Discord omits `options` when none were given
    if resolved:
        data["resolved"] = resolved
    return fake_discord.push_interaction(name=name, user_id=user_id, data=data)


def callback_of(fake_discord, payload: dict, timeout: float = 10.0) -> dict:
    def response():
        interaction = fake_discord.interaction(payload["token"])
        return interaction.response if interaction else None

    return fake_discord.wait_until(response, timeout=timeout)


def interaction_requests(fake_discord, payload: dict) -> list:
    """The bot's requests for this interaction, in the order the fake received them."""
    return [request for request in fake_discord.requests if payload["token"] in request.path]


def answer_of(fake_discord, payload: dict, timeout: float = 15.0) -> dict:
    """What the member ends up seeing, in the callback body's shape: {"type", "data"}.

    An immediate answer (4 message, 7 message update, 9 modal) is the callback itself. After a deferral
    (5, 6) `type` is the deferral's and `data` the message that answered it: the edit of @original, or
    the follow-up (after a public loading message was deleted, or under a button's message); its `flags`
    say whether only the member sees it.
    """
    callback = callback_of(fake_discord, payload, timeout=timeout)
    if callback["type"] not in (DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE):
        return callback

    def final():
        for request in reversed(interaction_requests(fake_discord, payload)):
            if request.method == "PATCH" and request.path.endswith("/messages/@original"):
                deferred_flags = (callback.get("data") or {}).get("flags") or 0
                return {"type": callback["type"], "data": {**request.json, "flags": deferred_flags}}
            if request.method == "POST" and request.route == "/webhooks/{webhook_id}/{webhook_token}":
                return {
                    "type": callback["type"],
                    "data": {**request.json, "flags": request.json.get("flags") or 0},
                }
        return None

    return fake_discord.wait_until(final, timeout=timeout)


def embed_of(body: dict) -> dict:
    assert body["data"]["embeds"], body
    return body["data"]["embeds"][0]


def field_values(embed: dict) -> dict[str, str]:
    return {field["name"]: field["value"] for field in embed.get("fields", [])}


def test_the_bot_answers_each_credits_and_link_command_without_registering_commands(
    fake_discord, running_bot, integration_on
):
    member, member_discord_id = linked_member(fake_discord, username="alice")
    stranger_id = fake_discord.add_user(username="stranger")["id"]

    link = answer_of(fake_discord, slash(fake_discord, "link", user_id=member_discord_id))
    assert link["type"] == DEFERRED_CHANNEL_MESSAGE
    assert link["data"]["flags"] == EPHEMERAL
    assert "alice" in embed_of(link)["description"]

    unlinked = answer_of(fake_discord, slash(fake_discord, "credits", user_id=stranger_id))
    assert unlinked["data"]["flags"] == EPHEMERAL
    assert "https://dealscale.example/profile/" in embed_of(unlinked)["description"]

    options = [
        {"name": "amount", "type": 4, "value": 1500},
        {"name": "reason", "type": 3, "value": "Hosted the weekly tournament"},
    ]
    filing = slash(fake_discord, "request-credits", user_id=member_discord_id, options=options)
    filed = answer_of(fake_discord, filing)
    request = CreditRequest.objects.get(user=member)
    assert (request.amount, request.source, request.status) == (1500, "discord", "pending")
    assert filed["data"]["flags"] == EPHEMERAL
    assert embed_of(filed)["title"] == f"📨 Credit request #{request.pk}"
    assert field_values(embed_of(filed))["Amount"] == "1,500 credits"

    # The same interaction delivered again (same id) files nothing new and answers with the same request.
    retry_token = fake_discord.create_interaction(name="request-credits", user_id=member_discord_id)["token"]
    fake_discord.interactions[retry_token].id = filing["id"]
    retried = dict(filing, token=retry_token)
    fake_discord.push_event("INTERACTION_CREATE", retried)
    assert embed_of(answer_of(fake_discord, retried))["title"] == f"📨 Credit request #{request.pk}"
    assert CreditRequest.objects.filter(user=member).count() == 1

    too_short = [{"name": "amount", "type": 4, "value": 5}, {"name": "reason", "type": 3, "value": "short"}]
    refused = answer_of(
        fake_discord, slash(fake_discord, "request-credits", user_id=member_discord_id, options=too_short)
    )
    assert refused["data"]["flags"] == EPHEMERAL
    assert "10 to 500 characters" in embed_of(refused)["description"]

    balance = answer_of(fake_discord, slash(fake_discord, "credits", user_id=member_discord_id))
    assert balance["data"]["flags"] == EPHEMERAL
    fields = field_values(embed_of(balance))
    assert fields["Balance"] == "**0** credits"
    assert f"#{request.pk}" in fields["Pending requests (1)"]

    unknown = answer_of(fake_discord, slash(fake_discord, "retired-command", user_id=member_discord_id))
    assert unknown["data"]["flags"] == EPHEMERAL
    assert embed_of(unknown)["title"] == "⚠️ Unknown command"
    # Answered at once, with no database or Redis work to wait for.
    assert unknown["type"] == 4

    for method in ("PUT", "POST", "PATCH", "DELETE"):
        for route in COMMAND_ROUTES:
            assert fake_discord.requests_to(method, route) == []
    fake_discord.wait_until(lambda: CommandInvocation.objects.count() >= 6)
    assert set(CommandInvocation.objects.values_list("command", flat=True)) >= {
        "link",
        "credits",
        "request-credits",
    }
    assert CommandInvocation.objects.filter(command="request-credits", outcome="refused").count() == 1

    # The next heartbeats (every 0.5 s here) carry the guild count and the commands served so far.
    heartbeat = fake_discord.wait_until(
        lambda: BotHeartbeat.objects.filter(commands_served__gte=6, latency_ms__isnull=False).first(),
        timeout=10,
    )
    assert heartbeat.guild_count == 1
    assert heartbeat.instance.startswith("bot-")


def rank_players(*scored_users) -> None:
    now = timezone.now()
    ScoreTotal.objects.bulk_create(
        ScoreTotal(user=user, period="all", period_start=ALL_TIME_START, score=score, reached_at=now)
        for user, score in scored_users
    )
    recalculate_leaderboard(force=True)


def test_leaderboard_and_rank_answer_with_the_published_ranking(fake_discord, running_bot, integration_on):
    leader, leader_discord_id = linked_member(fake_discord, username="leader")
    runner_up, runner_up_discord_id = linked_member(fake_discord, username="runnerup")
    others = [UserFactory(username=f"player{n}") for n in range(3)]
    rank_players((leader, 12_500), (runner_up, 9_000), *((user, 5_000 - n) for n, user in enumerate(others)))

    options = [{"name": "period", "type": 3, "value": "all"}, {"name": "limit", "type": 4, "value": 2}]
    top_two = answer_of(
        fake_discord, slash(fake_discord, "leaderboard", user_id=leader_discord_id, options=options)
    )
    assert top_two["type"] == DEFERRED_CHANNEL_MESSAGE and not top_two["data"].get("flags")
    embed = embed_of(top_two)
    assert embed["title"] == "🏆 Leaderboard · All time"
    assert embed["description"].splitlines() == [f"🥇 {leader} — 12,500 pts", f"🥈 {runner_up} — 9,000 pts"]
    assert "fields" not in embed or "Your position" not in field_values(embed)

    outsider = slash(
        fake_discord,
        "leaderboard",
        user_id=runner_up_discord_id,
        options=[{"name": "limit", "type": 4, "value": 1}],
    )
    assert field_values(embed_of(answer_of(fake_discord, outsider)))["Your position"] == (
        f"🥈 **{runner_up}** — 9,000 pts"
    )

    stranger_id = fake_discord.add_user(username="stranger")["id"]
    public = embed_of(answer_of(fake_discord, slash(fake_discord, "leaderboard", user_id=stranger_id)))
    assert len(public["description"].splitlines()) == 5
    assert "https://dealscale.example/profile/" in field_values(public)["Your position"]

    own = embed_of(answer_of(fake_discord, slash(fake_discord, "rank", user_id=runner_up_discord_id)))
    assert own["title"] == f"📈 {runner_up}"
    assert (field_values(own)["Rank"], field_values(own)["Score"]) == ("#2", "9,000 pts")

    member_option = [{"name": "member", "type": 6, "value": leader_discord_id}]
    leader_user = fake_discord.users[leader_discord_id]
    resolved = {
        "users": {leader_discord_id: leader_user},
        "members": {leader_discord_id: {"roles": [], "joined_at": "2026-01-01T00:00:00+00:00", "flags": 0}},
    }
    theirs = embed_of(
        answer_of(
            fake_discord,
            slash(
                fake_discord, "rank", user_id=runner_up_discord_id, options=member_option, resolved=resolved
            ),
        )
    )
    assert (theirs["title"], field_values(theirs)["Rank"]) == (f"📈 {leader}", "#1")

    bad_limit = [{"name": "limit", "type": 4, "value": 99}]
    refusing = slash(fake_discord, "leaderboard", user_id=leader_discord_id, options=bad_limit)
    refused = answer_of(fake_discord, refusing)
    assert refused["data"]["flags"] == EPHEMERAL
    assert embed_of(refused)["title"] == "⚠️ Bad limit"
    # A public loading message cannot turn ephemeral: it is deleted, and the refusal follows up privately.
    assert [(r.method, r.route) for r in interaction_requests(fake_discord, refusing)] == [
        ("POST", CALLBACK_ROUTE),
        ("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/@original"),
        ("POST", "/webhooks/{webhook_id}/{webhook_token}"),
    ]


def test_moderators_approve_and_deny_from_the_buttons_and_others_are_refused(
    fake_discord, running_bot, integration_on
):
    moderator, moderator_discord_id = linked_member(fake_discord, username="mod", factory=ModeratorFactory)
    member, member_discord_id = linked_member(fake_discord, username="bob")
    to_approve = CreditRequestFactory(user=member, amount=300)
    to_deny = CreditRequestFactory(user=UserFactory(), amount=700)

    def click(custom_id: str, *, user_id: str) -> dict:
        message = fake_discord.make_message(
            DEFAULT_CHANNEL_ID,
            {"embeds": [{"title": "request"}], "components": components.moderation_buttons(1)},
        )
        return fake_discord.push_interaction(
            user_id=user_id,
            interaction_type=3,
            data={"custom_id": custom_id, "component_type": 2},
            message=message,
        )

    refused = answer_of(
        fake_discord, click(components.custom_id("approve", to_approve.pk), user_id=member_discord_id)
    )
    assert refused["type"] == DEFERRED_UPDATE_MESSAGE and refused["data"]["flags"] == EPHEMERAL
    assert "Only moderators" in embed_of(refused)["description"]
    to_approve.refresh_from_db()
    assert to_approve.status == "pending"

    approval = click(components.custom_id("approve", to_approve.pk), user_id=moderator_discord_id)
    approved = answer_of(fake_discord, approval)
    assert approved["type"] == DEFERRED_UPDATE_MESSAGE
    assert approved["data"]["components"] == []
    # @original of a button is the message it is on: that message now shows the decision.
    assert approval["message"]["components"] == []
    assert approval["message"]["embeds"] == approved["data"]["embeds"]
    assert (
        field_values(embed_of(approved))["Status"]
        == f"✅ Approved by {moderator} (<@{moderator_discord_id}>)"
    )
    to_approve.refresh_from_db()
    assert (to_approve.status, to_approve.decided_by) == ("approved", moderator)

    again = answer_of(
        fake_discord, click(components.custom_id("approve", to_approve.pk), user_id=moderator_discord_id)
    )
    assert again["data"]["flags"] == EPHEMERAL
    assert "already approved" in embed_of(again)["description"]

    modal = answer_of(
        fake_discord, click(components.custom_id("deny", to_deny.pk), user_id=moderator_discord_id)
    )
    assert modal["type"] == 9
    assert modal["data"]["custom_id"] == components.custom_id("deny-note", to_deny.pk)

    submit = fake_discord.create_interaction(
        message=fake_discord.make_message(DEFAULT_CHANNEL_ID, {"embeds": [{"title": "request"}]}),
        user_id=moderator_discord_id,
        interaction_type=5,
        data={
            "custom_id": components.custom_id("deny-note", to_deny.pk),
            "components": [
                {"type": 1, "components": [{"type": 4, "custom_id": "note", "value": "Not eligible"}]}
            ],
        },
    )
    fake_discord.push_event("INTERACTION_CREATE", submit)
    denied = answer_of(fake_discord, submit)
    assert denied["type"] == DEFERRED_UPDATE_MESSAGE
    assert field_values(embed_of(denied))["Status"] == f"❌ Denied by {moderator} (<@{moderator_discord_id}>)"
    assert field_values(embed_of(denied))["Note"] == "Not eligible"
    to_deny.refresh_from_db()
    assert (to_deny.status, to_deny.decision_note) == ("denied", "Not eligible")


def test_a_dropped_gateway_is_resumed_and_sigterm_stops_the_bot_cleanly(
    fake_discord, running_bot, integration_on
):
    _, member_discord_id = linked_member(fake_discord, username="carol")
    fake_discord.drop_gateway()
    fake_discord.wait_until(lambda: fake_discord.gateway.resumes, timeout=15)
    assert len(fake_discord.gateway.identifies) == 1

    after_resume = answer_of(fake_discord, slash(fake_discord, "link", user_id=member_discord_id))
    assert after_resume["type"] == DEFERRED_CHANNEL_MESSAGE

    assert running_bot.stop(signal.SIGTERM) == 0, running_bot.log()
    assert "Bot stopped." in running_bot.log()
    assert not BotHeartbeat.objects.exists()


def test_cooldowns_refuse_a_second_command_within_the_window(fake_discord, tmp_path, integration_on):
    _, member_discord_id = linked_member(fake_discord, username="dave")
    bot = start_bot(fake_discord, tmp_path, BOT_COOLDOWN_SECONDS="60")
    try:
        fake_discord.wait_until(lambda: BotHeartbeat.objects.exists(), timeout=30)
        first = answer_of(fake_discord, slash(fake_discord, "link", user_id=member_discord_id))
        second = answer_of(fake_discord, slash(fake_discord, "link", user_id=member_discord_id))
        assert "Link" in embed_of(first)["title"] or "linked" in embed_of(first)["title"]
        assert second["data"]["flags"] == EPHEMERAL
        assert embed_of(second)["title"] == "⚠️ Slow down"
    finally:
        assert bot.stop() == 0, bot.log()


def test_a_missing_token_exits_at_once_with_code_2(fake_discord, tmp_path):
    bot = start_bot(fake_discord, tmp_path, DISCORD_BOT_TOKEN="")
    assert bot.process.wait(timeout=30) == 2
    assert "DISCORD_BOT_TOKEN is not set" in bot.log()


def test_a_rejected_token_exits_with_a_clear_message(fake_discord, tmp_path):
    bot = start_bot(fake_discord, tmp_path, DISCORD_BOT_TOKEN="not-the-token")
    assert bot.process.wait(timeout=30) == 3
    assert "Discord rejected DISCORD_BOT_TOKEN" in bot.log()
    assert fake_discord.gateway.identifies == []


def test_the_sharded_bot_identifies_each_shard(fake_discord, tmp_path):
    bot = start_bot(fake_discord, tmp_path, "--shards", "2")
    try:
        fake_discord.wait_until(lambda: len(fake_discord.gateway.identifies) == 2, timeout=30)
        assert sorted(identify["shard"] for identify in fake_discord.gateway.identifies) == [[0, 2], [1, 2]]
    finally:
        assert bot.stop() == 0, bot.log()


def request_index(fake_discord, method: str, route: str, payload: dict) -> int:
    return next(
        index
        for index, request in enumerate(fake_discord.requests)
        if request.method == method and request.route == route and payload["token"] in request.path
    )


def slowed_returns(fake_discord, *, after: int = 0) -> list[int]:
    """Where in the fake's request log each slowed function returned (slow_runbot's markers)."""
    return [
        index
        for index, request in enumerate(fake_discord.requests)
        if index >= after and any(key.lower() == MARKER_HEADER.lower() for key in request.headers)
    ]


def test_a_slowed_leaderboard_rank_and_approve_button_acknowledge_in_time_and_still_answer(
    fake_discord, tmp_path, integration_on
):
    leader, leader_discord_id = linked_member(fake_discord, username="slowleader")
    moderator, moderator_discord_id = linked_member(
        fake_discord, username="slowmod", factory=ModeratorFactory
    )
    # 24 more players with 32-character names (Discord's longest): a full 25-row page.
    players = [UserFactory(username=f"slowplayer{n}", display_name=f"{n:02d}" + "W" * 30) for n in range(24)]
    rank_players((leader, 90_000), *((user, 50_000 - n) for n, user in enumerate(players)))
    credit_request = CreditRequestFactory(amount=250)
    bot = start_bot(
        fake_discord,
        tmp_path,
        slowed=(
            "leaderboard.page_cache:read_page",
            "leaderboard.selectors:entry_for",
            "discordbot.cogs.moderation:approve_request",
            "discordbot.cogs.credits:pending_requests_for",
        ),
        # A bug found only after the deferral: the member still gets an answer.
        broken=("discordbot.cogs.credits:pending_requests_for",),
    )
    try:
        fake_discord.wait_until(lambda: BotHeartbeat.objects.exists(), timeout=30)
        top = slash(
            fake_discord,
            "leaderboard",
            user_id=leader_discord_id,
            options=[{"name": "limit", "type": 4, "value": 25}],
        )
        rank = slash(fake_discord, "rank", user_id=leader_discord_id)
        approval = fake_discord.push_interaction(
            user_id=moderator_discord_id,
            interaction_type=3,
            data={"custom_id": components.custom_id("approve", credit_request.pk), "component_type": 2},
            message=fake_discord.make_message(
                DEFAULT_CHANNEL_ID,
                {"embeds": [{"title": "request"}], "components": components.moderation_buttons(1)},
            ),
        )
        balance = slash(fake_discord, "credits", user_id=leader_discord_id)
        leaderboard_answer, rank_answer, approval_answer, balance_answer = (
            answer_of(fake_discord, payload, timeout=60) for payload in (top, rank, approval, balance)
        )
    finally:
        assert bot.stop() == 0, bot.log()

    # Every first response is a deferral, recorded before any slowed service had returned.
    first_return = slowed_returns(fake_discord)[0]
    for payload in (top, rank, approval, balance):
        assert request_index(fake_discord, "POST", CALLBACK_ROUTE, payload) < first_return
    answers = (leaderboard_answer, rank_answer, approval_answer, balance_answer)
    assert [answer["type"] for answer in answers] == [
        DEFERRED_CHANNEL_MESSAGE,
        DEFERRED_CHANNEL_MESSAGE,
        DEFERRED_UPDATE_MESSAGE,
        DEFERRED_CHANNEL_MESSAGE,
    ]

    page = embed_of(leaderboard_answer)
    assert len(page["description"].splitlines()) == 25
    assert page["description"].splitlines()[1] == f"🥈 00{'W' * 30} — 50,000 pts"
    assert limits.embed_problems(page) == []
    assert not leaderboard_answer["data"]["flags"]
    assert embed_of(rank_answer)["title"] == f"📈 {leader}"
    assert field_values(embed_of(approval_answer))["Status"] == (
        f"✅ Approved by {moderator} (<@{moderator_discord_id}>)"
    )
    credit_request.refresh_from_db()
    assert credit_request.status == "approved"
    assert balance_answer["data"]["flags"] == EPHEMERAL
    assert embed_of(balance_answer)["title"] == "⚠️ Sorry"
    assert "broken by slow_runbot" in bot.log()


def test_a_slowed_kill_switch_and_cooldown_do_not_delay_the_first_response(
    fake_discord, tmp_path, integration_on
):
    member, member_discord_id = linked_member(fake_discord, username="slowgate")
    moderator, moderator_discord_id = linked_member(
        fake_discord, username="slowgatemod", factory=ModeratorFactory
    )
    to_deny = CreditRequestFactory(user=member, amount=70)
    bot = start_bot(
        fake_discord,
        tmp_path,
        slowed=(
            "discordbot.cogs.base:discord_integration_switched_off",
            "discordbot.cogs.base:claim_cooldown",
        ),
        BOT_COOLDOWN_SECONDS="1",
    )
    try:
        fake_discord.wait_until(lambda: BotHeartbeat.objects.exists(), timeout=30)

        before = len(fake_discord.requests)
        link = slash(fake_discord, "link", user_id=member_discord_id)
        linked = answer_of(fake_discord, link, timeout=60)
        assert (
            request_index(fake_discord, "POST", CALLBACK_ROUTE, link)
            < slowed_returns(fake_discord, after=before)[0]
        )
        assert (linked["type"], linked["data"]["flags"]) == (DEFERRED_CHANNEL_MESSAGE, EPHEMERAL)
        assert "slowgate" in embed_of(linked)["description"]

        # A modal must be the first response: it opens when its checks outlast their budget.
        before = len(fake_discord.requests)
        deny = fake_discord.push_interaction(
            user_id=moderator_discord_id,
            interaction_type=3,
            data={"custom_id": components.custom_id("deny", to_deny.pk), "component_type": 2},
            message=fake_discord.make_message(
                DEFAULT_CHANNEL_ID,
                {"embeds": [{"title": "request"}], "components": components.moderation_buttons(1)},
            ),
        )
        modal = answer_of(fake_discord, deny, timeout=60)
        assert modal["type"] == 9
        fake_discord.wait_until(lambda: slowed_returns(fake_discord, after=before), timeout=30)
        assert (
            request_index(fake_discord, "POST", CALLBACK_ROUTE, deny)
            < slowed_returns(fake_discord, after=before)[0]
        )

        # Its submit is deferred at once too, then checked again and decided.
        submit = fake_discord.push_interaction(
            user_id=moderator_discord_id,
            interaction_type=5,
            data={
                "custom_id": components.custom_id("deny-note", to_deny.pk),
                "components": [
                    {"type": 1, "components": [{"type": 4, "custom_id": "note", "value": "Too late"}]}
                ],
            },
            message=deny["message"],
        )
        denied = answer_of(fake_discord, submit, timeout=60)
        assert denied["type"] == DEFERRED_UPDATE_MESSAGE
        assert field_values(embed_of(denied))["Note"] == "Too late"
    finally:
        assert bot.stop() == 0, bot.log()
    to_deny.refresh_from_db()
    assert (to_deny.status, to_deny.decision_note) == ("denied", "Too late")

"""A real nextcord 3.2 client logs in to the fake Discord, resumes after a drop and gets interactions."""

import asyncio
import json
from collections import defaultdict

import aiohttp
import nextcord
import pytest

from dealscale.redis_client import get_redis
from discord_rest.ratelimit import Governor, RedisStore, identity_for, install_on_nextcord
from discord_sandbox import APPLICATION_ID, BOT_TOKEN, GUILD_ID


class RecordingClient(nextcord.Client):
    """A bare client that registers no commands on connect and records what it receives."""

    def __init__(self, **options) -> None:
        intents = nextcord.Intents.default()
        intents.members = True
        # guild_ready_timeout: READY waits this long for more GUILD_CREATEs; the fake sends them at once.
        super().__init__(intents=intents, guild_ready_timeout=0.1, **options)
        self.seen: dict[str, list] = defaultdict(list)
        self.signals: dict[str, asyncio.Event] = defaultdict(asyncio.Event)

    def saw(self, name: str, value=None) -> None:
        self.seen[name].append(value)
        self.signals[name].set()

    async def wait_for_signal(self, name: str, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self.signals[name].wait(), timeout)
        self.signals[name].clear()

    async def on_connect(self) -> None:
        # The default on_connect syncs application commands with Discord; these tests must not.
        self.saw("connect")

    async def on_ready(self) -> None:
        self.saw("ready")

    async def on_resumed(self) -> None:
        self.saw("resumed")

    async def on_interaction(self, interaction: nextcord.Interaction) -> None:
        self.saw("interaction", interaction)
        await interaction.response.send_message(f"pong {interaction.data['name']}", ephemeral=True)


@pytest.fixture
async def bot(fake_discord):
    alice = fake_discord.add_user(username="alice")
    gold = fake_discord.add_role(name="Gold", position=3)
    fake_discord.add_member(GUILD_ID, alice["id"], roles=[gold["id"]])
    client = RecordingClient()
    runner = asyncio.create_task(client.start(BOT_TOKEN))
    await client.wait_for_signal("ready")
    yield client
    await client.close()
    await asyncio.wait_for(runner, 10)


async def test_nextcord_logs_in_and_caches_the_guild_from_ready_and_guild_create(bot, fake_discord):
    guild = bot.get_guild(int(GUILD_ID))
    alice = next(m for m in guild.members if m.name == "alice")
    identify = fake_discord.gateway.identifies[0]

    assert bot.user.id == int(APPLICATION_ID)
    assert [r.name for r in alice.roles] == ["@everyone", "Gold"]
    assert guild.me.top_role.name == "DealScale"
    assert identify["token"] == BOT_TOKEN
    assert identify["intents"] & nextcord.Intents(members=True).value
    assert fake_discord.requests_to(route="/applications/{application_id}/commands") == []


async def test_nextcords_http_parses_the_fakes_json(bot):
    roles = await bot.get_guild(int(GUILD_ID)).fetch_roles()

    assert {role.name for role in roles} == {"@everyone", "DealScale", "Gold"}


async def test_nextcord_resumes_after_a_dropped_connection_and_gets_the_missed_events(bot, fake_discord):
    alice = next(u for u in fake_discord.users.values() if u["username"] == "alice")
    await asyncio.to_thread(fake_discord.drop_gateway)
    missed = await asyncio.to_thread(fake_discord.push_interaction, name="balance", user_id=alice["id"])

    await bot.wait_for_signal("resumed")
    await bot.wait_for_signal("interaction")

    session = next(iter(fake_discord.gateway.sessions.values()))
    assert len(fake_discord.gateway.identifies) == 1
    assert fake_discord.gateway.resumes[0]["session_id"] == session.id
    assert bot.seen["interaction"][0].id == int(missed["id"])


async def test_nextcord_reidentifies_when_its_session_is_invalidated(bot, fake_discord):
    await asyncio.to_thread(fake_discord.invalidate_gateway_sessions)

    await bot.wait_for_signal("ready")

    assert len(fake_discord.gateway.identifies) == 2


async def test_a_pushed_interaction_is_answered_through_the_fakes_callback_route(bot, fake_discord):
    alice = next(u for u in fake_discord.users.values() if u["username"] == "alice")

    payload = await asyncio.to_thread(fake_discord.push_interaction, name="ping", user_id=alice["id"])
    await bot.wait_for_signal("interaction")
    await asyncio.to_thread(
        fake_discord.wait_until, lambda: fake_discord.interactions[payload["token"]].responded
    )

    interaction = bot.seen["interaction"][0]
    response = fake_discord.interactions[payload["token"]].response
    assert interaction.user.name == "alice" and interaction.guild_id == int(GUILD_ID)
    assert response["type"] == 4
    assert (response["data"]["content"], response["data"]["flags"]) == ("pong ping", 64)


async def test_a_4004_close_ends_the_client_with_connection_closed(fake_discord):
    client = RecordingClient()
    runner = asyncio.create_task(client.start(BOT_TOKEN))
    await client.wait_for_signal("ready")

    await asyncio.to_thread(fake_discord.drop_gateway, 4004)

    with pytest.raises(nextcord.ConnectionClosed) as caught:
        await asyncio.wait_for(runner, 10)
    assert caught.value.code == 4004


async def test_a_wrong_token_fails_the_login(fake_discord):
    client = RecordingClient()

    with pytest.raises(nextcord.LoginFailure):
        await client.start("not-the-token")
    await client.close()


async def test_the_bot_takes_part_in_the_shared_global_limit_and_invalid_count(fake_discord):
    governor = Governor(RedisStore(get_redis()))
    client = RecordingClient()
    install_on_nextcord(client, governor)
    runner = asyncio.create_task(client.start(BOT_TOKEN))
    await client.wait_for_signal("ready")
    admin = fake_discord.add_role(name="Admin", position=50)

    member = client.get_guild(int(GUILD_ID)).me
    with pytest.raises(nextcord.Forbidden):
        await member.add_roles(nextcord.Object(int(admin["id"])))
    slots = get_redis().zcard(f"discord:rl:global:{identity_for(f'Bot {BOT_TOKEN}')}")
    await client.close()
    await asyncio.wait_for(runner, 10)

    assert slots >= 1
    assert governor.invalid_requests() == 1


# --- Discord's reconnect signals, and a zombied connection --------------------------------------------
async def test_nextcord_resumes_after_a_reconnect_request(bot, fake_discord):
    assert await asyncio.to_thread(fake_discord.send_reconnect) == 1

    await bot.wait_for_signal("resumed")

    assert (len(fake_discord.gateway.identifies), len(fake_discord.gateway.resumes)) == (1, 1)


async def test_nextcord_resumes_after_a_resumable_invalid_session(bot, fake_discord):
    await asyncio.to_thread(fake_discord.send_invalid_session, resumable=True)

    await bot.wait_for_signal("resumed")

    assert (len(fake_discord.gateway.identifies), len(fake_discord.gateway.resumes)) == (1, 1)


async def test_nextcord_identifies_again_after_a_non_resumable_invalid_session(bot, fake_discord):
    first_session = next(iter(fake_discord.gateway.sessions))
    await asyncio.to_thread(fake_discord.send_invalid_session, resumable=False)

    # nextcord waits the 5 s Discord asks between IDENTIFYs before sending the new one.
    await bot.wait_for_signal("ready", timeout=30)

    assert len(fake_discord.gateway.identifies) == 2
    assert fake_discord.gateway.refused_identifies == []
    assert list(fake_discord.gateway.sessions) != [first_session]


async def test_nextcord_closes_a_zombied_connection_and_resumes(fake_discord):
    # heartbeat_timeout: how long nextcord waits for anything (an ACK included) before calling it a zombie.
    client = RecordingClient(heartbeat_timeout=3.0)
    runner = asyncio.create_task(client.start(BOT_TOKEN))
    await client.wait_for_signal("ready")
    acks_before = fake_discord.gateway.heartbeats

    assert await asyncio.to_thread(fake_discord.zombie_gateway) == 1
    await client.wait_for_signal("resumed", timeout=30)
    await client.close()
    await asyncio.wait_for(runner, 10)

    assert fake_discord.gateway.heartbeats > acks_before
    assert fake_discord.gateway.closes[0] not in (1000, 1001)  # closed so that the session stays resumable
    assert (len(fake_discord.gateway.identifies), len(fake_discord.gateway.resumes)) == (1, 1)


async def test_a_privileged_intent_the_app_lacks_closes_with_4014(fake_discord):
    fake_discord.guild_members_intent = False
    client = RecordingClient()

    with pytest.raises(nextcord.PrivilegedIntentsRequired):
        await asyncio.wait_for(client.start(BOT_TOKEN), 10)
    await client.close()


# --- the gateway's own rules, over a raw websocket ------------------------------------------------------
class RawGateway:
    """One websocket to the fake, spoken to frame by frame."""

    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.session, self.ws = session, ws

    @classmethod
    async def open(cls, fake_discord) -> "RawGateway":
        session = aiohttp.ClientSession()
        ws = await session.ws_connect(fake_discord.ws_url)
        raw = cls(session, ws)
        assert (await raw.receive())["op"] == 10
        return raw

    async def send(self, op: int, d) -> None:
        await self.ws.send_str(json.dumps({"op": op, "d": d}))

    async def receive(self) -> dict:
        message = await asyncio.wait_for(self.ws.receive(), 5)
        assert message.type == aiohttp.WSMsgType.TEXT, message
        return json.loads(message.data)

    async def identify(self, shard: list[int] | None = None) -> dict:
        await self.send(2, {"token": BOT_TOKEN, "intents": 1, "properties": {}, "shard": shard or [0, 1]})
        return await self.receive()

    async def close(self, code: int = 4000) -> None:
        await self.ws.close(code=code)
        await self.session.close()


async def test_identify_is_limited_to_one_per_5_seconds_per_bucket(fake_discord):
    fake_discord.freeze_clock()
    first, second, third = [await RawGateway.open(fake_discord) for _ in range(3)]

    ready = await first.identify()
    refused = await second.identify()
    fake_discord.advance_clock(5)
    later = await third.identify()

    assert ready["t"] == "READY"
    assert refused == {"op": 9, "d": False, "s": None, "t": None}
    assert later["t"] == "READY"
    assert len(fake_discord.gateway.refused_identifies) == 1
    for raw in (first, second, third):
        await raw.close()


async def test_max_concurrency_lets_one_shard_per_bucket_identify_at_once(fake_discord):
    fake_discord.freeze_clock()
    fake_discord.gateway.max_concurrency = 2
    shards = [await RawGateway.open(fake_discord) for _ in range(3)]

    answers = [await raw.identify([shard_id, 3]) for shard_id, raw in enumerate(shards)]

    # Shards 0 and 1 fill buckets 0 and 1; shard 2 is in bucket 0 again.
    assert [answer["op"] for answer in answers] == [0, 0, 9]
    for raw in shards:
        await raw.close()


async def test_more_than_120_payloads_a_minute_close_the_connection_with_4008(fake_discord):
    raw = await RawGateway.open(fake_discord)
    await raw.identify()

    for _ in range(120):
        await raw.send(1, None)
    closed = await asyncio.wait_for(raw.ws.receive(), 5)
    while closed.type == aiohttp.WSMsgType.TEXT:
        closed = await asyncio.wait_for(raw.ws.receive(), 5)

    assert closed.type == aiohttp.WSMsgType.CLOSE and closed.data == 4008
    await raw.session.close()


@pytest.mark.parametrize(("code", "resumed"), [(4000, True), (1000, False), (1001, False)])
async def test_a_client_closing_with_1000_or_1001_ends_its_session(fake_discord, code, resumed):
    raw = await RawGateway.open(fake_discord)
    ready = await raw.identify()
    await raw.close(code)
    await asyncio.to_thread(fake_discord.wait_until, lambda: fake_discord.gateway.closes)

    again = await RawGateway.open(fake_discord)
    await again.send(6, {"token": BOT_TOKEN, "session_id": ready["d"]["session_id"], "seq": ready["s"]})
    answer = await again.receive()
    while answer.get("t") == "GUILD_CREATE":  # replayed: it followed READY, the last event seen
        answer = await again.receive()

    assert (answer.get("t") == "RESUMED") is resumed
    assert answer["op"] == (0 if resumed else 9)
    await again.close()

"""A real nextcord 3.2 client logs in to the fake Discord, resumes after a drop and gets interactions."""

import asyncio
from collections import defaultdict

import nextcord
import pytest

from dealscale.redis_client import get_redis
from discord_rest.ratelimit import Governor, RedisStore, identity_for, install_on_nextcord
from discord_sandbox import APPLICATION_ID, BOT_TOKEN, GUILD_ID


class RecordingClient(nextcord.Client):
    """A bare client that registers no commands on connect and records what it receives."""

    def __init__(self) -> None:
        intents = nextcord.Intents.default()
        intents.members = True
        # guild_ready_timeout: READY waits this long for more GUILD_CREATEs; the fake sends them at once.
        super().__init__(intents=intents, guild_ready_timeout=0.1)
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

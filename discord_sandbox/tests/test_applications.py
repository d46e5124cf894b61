"""The fake's current application and channel visibility: what `manage.py preflight` reads."""

import pytest
import requests

from discord_sandbox import APPLICATION_ID, BOT_ROLE_ID, BOT_TOKEN, GUILD_ID

BOT = {"Authorization": f"Bot {BOT_TOKEN}"}
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11


@pytest.fixture
def get(fake_discord):
    def call(path, **kwargs):
        kwargs.setdefault("headers", BOT)
        return requests.get(fake_discord.base_url + path, timeout=5, **kwargs)

    return call


def test_the_current_application_reports_the_granted_intents_in_its_flags(get, fake_discord):
    application = get("/applications/@me").json()
    assert application["id"] == APPLICATION_ID
    assert application["bot"]["id"] == fake_discord.bot_user["id"]
    assert application["flags"] & (1 << 15)  # GATEWAY_GUILD_MEMBERS_LIMITED, as READY says
    assert "redirect_uris" not in application

    fake_discord.application_flags = 0
    fake_discord.redirect_uris = ["https://site.example/accounts/discord/login/callback/"]
    application = get("/applications/@me").json()
    assert application["flags"] == 0
    assert application["redirect_uris"] == ["https://site.example/accounts/discord/login/callback/"]


def test_the_current_application_needs_the_bot_token(get):
    assert get("/applications/@me", headers={"Authorization": "Bot wrong"}).status_code == 401


def test_guild_channels_leave_out_those_the_bot_may_not_view(get, fake_discord):
    hidden = fake_discord.add_channel(
        GUILD_ID,
        name="staff-only",
        permission_overwrites=[{"id": GUILD_ID, "type": 0, "allow": "0", "deny": str(VIEW_CHANNEL)}],
    )
    opened = fake_discord.add_channel(
        GUILD_ID,
        name="bots-welcome",
        permission_overwrites=[
            {"id": GUILD_ID, "type": 0, "allow": "0", "deny": str(VIEW_CHANNEL)},
            {"id": BOT_ROLE_ID, "type": 0, "allow": str(VIEW_CHANNEL), "deny": "0"},
        ],
    )
    names = {channel["name"] for channel in get(f"/guilds/{GUILD_ID}/channels").json()}
    assert "general" in names and opened["name"] in names
    assert hidden["name"] not in names


def test_channel_permissions_follow_discords_order_of_overwrites(fake_discord):
    bot_id = fake_discord.bot_user["id"]
    channel = fake_discord.add_channel(
        GUILD_ID,
        name="mods",
        permission_overwrites=[
            {"id": GUILD_ID, "type": 0, "allow": "0", "deny": str(SEND_MESSAGES)},
            {"id": bot_id, "type": 1, "allow": str(SEND_MESSAGES), "deny": "0"},
        ],
    )
    assert fake_discord.channel_permissions(channel["id"], bot_id) & SEND_MESSAGES
    fake_discord.channels[channel["id"]]["permission_overwrites"].pop()
    assert not fake_discord.channel_permissions(channel["id"], bot_id) & SEND_MESSAGES
    fake_discord.roles[GUILD_ID][BOT_ROLE_ID]["permissions"] = str(1 << 3)  # ADMINISTRATOR
    assert fake_discord.channel_permissions(channel["id"], bot_id) & SEND_MESSAGES

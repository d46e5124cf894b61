"""The seed file becomes the sandbox's community: channels, roles under the bot's, users in the guild."""

import json

import pytest

from discord_sandbox import BOT_ROLE_ID, GUILD_ID
from discord_sandbox.community import InvalidSeed, load_seed, seed_community
from discord_sandbox.state import FakeDiscordState

SEED = {
    "application": {"name": "DealScale Discord"},
    "guild": {"name": "DealScale Community"},
    "channels": [
        {"id": "1300000000000000011", "name": "announcements"},
        {"id": "1300000000000000012", "name": "moderators"},
    ],
    "roles": [
        {"id": "1400000000000000011", "name": "Champion", "color": 0xF1C40F},
        {"id": "1400000000000000012", "name": "Top 3"},
    ],
    "users": [
        {
            "id": "1600000000000000001",
            "username": "alice",
            "global_name": "Alice Moreau",
            "roles": ["1400000000000000012"],
        },
        {"id": "1600000000000000002", "username": "bob"},
    ],
}


def test_the_seed_builds_the_guild_channels_roles_and_members():
    state = FakeDiscordState()

    seed_community(state, SEED)

    assert state.guilds[GUILD_ID]["name"] == "DealScale Community"
    assert state.application_name == "DealScale Discord"
    assert {c["name"] for c in state.channels.values() if c.get("guild_id") == GUILD_ID} == {
        "general",
        "announcements",
        "moderators",
    }
    roles = state.roles[GUILD_ID]
    assert roles["1400000000000000011"]["position"] > roles["1400000000000000012"]["position"]
    assert roles["1400000000000000011"]["color"] == 0xF1C40F
    assert state.member_roles(GUILD_ID, "1600000000000000001") == ["1400000000000000012"]
    assert state.member_roles(GUILD_ID, "1600000000000000002") == []
    assert state.users["1600000000000000001"]["global_name"] == "Alice Moreau"
    assert state.oauth_consent_page is True


def test_the_bots_managed_role_stays_above_every_seeded_role():
    state = FakeDiscordState()
    many = [{"id": str(1400000000000000100 + n), "name": f"Tier {n}"} for n in range(15)]

    seed_community(state, {"roles": many})

    bot_position = state.roles[GUILD_ID][BOT_ROLE_ID]["position"]
    assert all(state.roles[GUILD_ID][r["id"]]["position"] < bot_position for r in many)
    assert state.bot_top_position(GUILD_ID) == bot_position


@pytest.mark.parametrize(
    ("seed", "where"),
    [
        ({"users": [{"id": "abc", "username": "x"}]}, "users[0].id"),
        ({"roles": [{"id": "1"}]}, "roles[0].name"),
        ({"channels": {"id": "1"}}, "channels: expected a list"),
    ],
)
def test_a_malformed_seed_is_refused_saying_where(seed, where):
    with pytest.raises(InvalidSeed, match=where.replace("[", r"\[").replace("]", r"\]")):
        seed_community(FakeDiscordState(), seed)


def test_load_seed_reads_the_file_and_names_a_bad_one(tmp_path):
    good = tmp_path / "seed.json"
    good.write_text(json.dumps(SEED))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")

    assert load_seed(good) == SEED
    with pytest.raises(InvalidSeed, match="not valid JSON"):
        load_seed(bad)
    with pytest.raises(InvalidSeed, match="Cannot read"):
        load_seed(tmp_path / "missing.json")

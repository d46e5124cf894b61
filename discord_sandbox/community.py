"""The sandbox's community: a seed (plain JSON) turned into a guild with channels, roles and members.

The sandbox never imports the project: the project describes its demo community in a JSON file
(``manage.py seed_demo --discord-sandbox-seed FILE`` writes one) and ``python -m discord_sandbox --seed FILE``
loads it. The format::

    {"application": {"name": "DealScale Discord"},
     "guild": {"name": "DealScale Community"},
     "channels": [{"id": "1300000000000000011", "name": "announcements"}, ...],
     "roles": [{"id": "1400000000000000011", "name": "Champion", "color": 15844367}, ...],
     "users": [{"id": "1600000000000000001", "username": "alice", "global_name": "Alice Moreau",
                "email": "alice@example.com", "roles": ["1400000000000000011"]}, ...]}

Every key but ``users[].id`` and ``users[].username`` (and the ids and names of channels and roles) is
optional. Roles are listed highest first and placed below the bot's own managed role, which is raised
above them if needed: the bot can assign every seeded role, as on a well-configured server.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from discord_sandbox.state import BOT_ROLE_ID, GUILD_ID, FakeDiscordState


class InvalidSeed(ValueError):
    """The seed file is not the shape this module reads; the message says where."""


def load_seed(path: str | Path) -> dict:
    """The decoded seed file. Raises InvalidSeed."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidSeed(f"Cannot read the seed file {path}: {exc.strerror}.") from None
    except json.JSONDecodeError as exc:
        raise InvalidSeed(f"The seed file {path} is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise InvalidSeed(f"The seed file {path} must hold a JSON object.")
    return data


def _entries(seed: dict, key: str, required: tuple[str, ...]) -> list[dict]:
    entries = seed.get(key, [])
    if not isinstance(entries, list):
        raise InvalidSeed(f"{key}: expected a list.")
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise InvalidSeed(f"{key}[{index}]: expected an object.")
        for name in required:
            if not isinstance(entry.get(name), str) or not entry[name]:
                raise InvalidSeed(f"{key}[{index}].{name}: expected a non-empty string.")
        if "id" in required and not entry["id"].isdigit():
            raise InvalidSeed(f"{key}[{index}].id: expected a snowflake (digits).")
    return entries


def seed_community(state: FakeDiscordState, seed: dict[str, Any]) -> None:
    """Build the seeded community on top of the default world (the bot, its guild, #general).

    Also turns the consent page on: someone at a browser, not a test, answers /oauth2/authorize.
    Raises InvalidSeed.
    """
    channels = _entries(seed, "channels", ("id", "name"))
    roles = _entries(seed, "roles", ("id", "name"))
    users = _entries(seed, "users", ("id", "username"))
    with state.lock:
        state.oauth_consent_page = True
        state.application_name = (seed.get("application") or {}).get("name") or state.application_name
        guild = state.guilds[GUILD_ID]
        guild["name"] = (seed.get("guild") or {}).get("name") or guild["name"]
        for channel in channels:
            state.add_channel(GUILD_ID, channel_id=channel["id"], name=channel["name"])
        bot_role = state.roles[GUILD_ID][BOT_ROLE_ID]
        bot_role["position"] = max(bot_role["position"], len(roles) + 1)
        for offset, role in enumerate(roles):
            state.add_role(
                GUILD_ID,
                role_id=role["id"],
                name=role["name"],
                position=len(roles) - offset,
                color=int(role.get("color") or 0),
                hoist=bool(role.get("hoist", False)),
            )
        for user in users:
            state.add_user(
                user["id"],
                username=user["username"],
                global_name=user.get("global_name"),
                email=user.get("email"),
            )
            held = [role_id for role_id in user.get("roles") or [] if role_id in state.roles[GUILD_ID]]
            state.add_member(GUILD_ID, user["id"], roles=held)

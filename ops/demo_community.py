"""The demo's Discord community, for the Discord sandbox: its channels, roles and users, as a seed file.

`seed_demo --discord-sandbox-seed FILE` writes it and `python -m discord_sandbox --seed FILE` reads it
(the format is discord_sandbox/community.py's). The roles are the milestones' (plus a cosmetic Moderator
role), the users are every linked Discord account: whoever linked through the sandbox's consent page in an
earlier run is there again, with the same id, after a restart of the in-memory sandbox.
"""

import json
from pathlib import Path

from accounts.demo import linked_discord_accounts
from accounts.models import User
from rolesync.selectors import milestones_export

GUILD_NAME = "DealScale Community"
APPLICATION_NAME = "DealScale Discord"
ANNOUNCEMENTS_CHANNEL_ID = "1300000000000000011"
MODERATORS_CHANNEL_ID = "1300000000000000012"
MODERATOR_ROLE_ID = "1400000000000000021"
# Snowflakes far above the sandbox's own counter (15…), so a seeded id never meets a generated one.
FIRST_DEMO_DISCORD_ID = 1600000000000000001
# Role colours in Discord's order (highest role first); the milestones have none of their own.
ROLE_COLOURS = [0xF1C40F, 0x3498DB, 0x9B59B6, 0x2ECC71, 0xE67E22, 0x1ABC9C, 0xE91E63, 0x95A5A6]
MODERATOR_COLOUR = 0xED4245


def demo_discord_user(user: User, *, index: int) -> dict:
    """The sandbox Discord user that stands for the demo user `user` (the index-th of the demo)."""
    return {
        "id": str(FIRST_DEMO_DISCORD_ID + index),
        "username": user.username.lower(),
        "global_name": user.display_name or user.username,
        "email": user.email or None,
    }


def community_seed() -> dict:
    """The community as the sandbox's seed: read from the milestones and the linked accounts."""
    milestone_roles = [
        {"id": milestone["discord_role_id"], "name": milestone["name"]}
        for track in milestones_export()["tracks"]
        for milestone in track["milestones"]
    ]
    for role, colour in zip(milestone_roles, ROLE_COLOURS, strict=False):
        role["color"] = colour
    users = []
    for user, discord_user in linked_discord_accounts():
        users.append(
            {
                "id": discord_user["id"],
                "username": discord_user.get("username") or user.username.lower(),
                "global_name": discord_user.get("global_name"),
                "email": discord_user.get("email"),
                "roles": [MODERATOR_ROLE_ID] if user.is_staff else [],
            }
        )
    return {
        "application": {"name": APPLICATION_NAME},
        "guild": {"name": GUILD_NAME},
        "channels": [
            {"id": ANNOUNCEMENTS_CHANNEL_ID, "name": "announcements"},
            {"id": MODERATORS_CHANNEL_ID, "name": "moderators"},
        ],
        "roles": [
            {"id": MODERATOR_ROLE_ID, "name": "Moderator", "color": MODERATOR_COLOUR, "hoist": True},
            *milestone_roles,
        ],
        "users": users,
    }


def write_community_seed(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(community_seed(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

"""What role sync reads from Discord: the guild's members and roles, as plain data (no mutating call).

Internal to rolesync: `services.py` calls it. Discord errors are left to the caller, who decides
what a guild it cannot read means for a run (nothing is changed) or for a save in the admin (a warning).
"""

from collections.abc import Iterable, Iterator

from discord_rest.client import DiscordClient, DiscordNotFound
from rolesync import planner

# Discord's JSON error code that tells a member who left from any other 404.
UNKNOWN_MEMBER = 10007


def discord_client() -> DiscordClient:
    """The bot's Discord client, through the shared rate-limit governor."""
    return DiscordClient()


def iter_members(client: DiscordClient, guild_id: str) -> Iterator[planner.GuildMember]:
    """Every member of the guild, read 1 000 per call."""
    for member in client.iter_guild_members(guild_id, page_size=1000):
        user = member["user"]
        yield planner.GuildMember(user["id"], member["roles"], user.get("username", ""))


def fetch_members(
    client: DiscordClient, guild_id: str, discord_ids: Iterable[str]
) -> list[planner.GuildMember]:
    """The members among `discord_ids` who are in the guild, one call each.

    Raises DiscordNotFound for an unknown guild: a broken configuration, not a member who left.
    """
    members = []
    for discord_id in sorted(discord_ids):
        try:
            member = client.get_guild_member(guild_id, discord_id)
        except DiscordNotFound as exc:
            if exc.code != UNKNOWN_MEMBER:
                raise
            continue  # not in the guild: there is no role to give or take
        members.append(planner.GuildMember(discord_id, member["roles"], member["user"].get("username", "")))
    return members


def unassignable_roles(
    client: DiscordClient, guild_id: str, role_ids: set[str], *, names: dict[str, str]
) -> dict[str, str]:
    """Why each of `role_ids` cannot be assigned by the bot, checked once before any change."""
    roles = {role["id"]: role for role in client.get_guild_roles(guild_id)}
    bot_member = client.get_guild_member(guild_id, client.get_current_user()["id"])
    bot_top = max((roles[r]["position"] for r in bot_member["roles"] if r in roles), default=0)
    problems = {}
    for role_id in role_ids:
        role = roles.get(role_id)
        label = names.get(role_id, role_id)
        if role is None:
            problems[role_id] = (
                f'The role of milestone "{label}" ({role_id}) does not exist in the server: '
                "fix its Discord role id in the admin."
            )
        elif role["managed"]:
            problems[role_id] = (
                f'"{role["name"]}" ({role_id}) is managed by an integration and cannot be assigned: '
                "pick another role for the milestone."
            )
        elif role["position"] >= bot_top:
            problems[role_id] = (
                f'The bot cannot assign "{role["name"]}" ({role_id}): move the DealScale bot\'s role above '
                f'"{role["name"]}" in Server Settings → Roles.'
            )
    return problems

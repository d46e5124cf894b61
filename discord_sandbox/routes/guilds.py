"""Guilds, roles and members: the guild, its roles and channels, paged members, role changes.

Discord's resource: ``guild.mdx``; the client's "guilds, roles, members" section. A role at or above the
bot's top role, or a managed one, answers 403/50013; every change dispatches GUILD_MEMBER_UPDATE.
"""

from __future__ import annotations

from aiohttp import web

from discord_sandbox.routing import (
    MISSING_ACCESS,
    MISSING_PERMISSIONS,
    UNKNOWN_GUILD,
    UNKNOWN_MEMBER,
    UNKNOWN_ROLE,
    Ctx,
    err,
    invalid_form,
    json_response,
    no_content,
    route,
)
from discord_sandbox.state import FakeDiscordState

MAX_MEMBERS_PAGE = 1000


def _guild_or_error(ctx: Ctx) -> tuple[str, web.Response | None]:
    guild_id = ctx.params["guild_id"]
    if guild_id not in ctx.state.guilds:
        return guild_id, err(UNKNOWN_GUILD)
    if ctx.state.bot_user["id"] not in ctx.state.members[guild_id]:
        return guild_id, err(MISSING_ACCESS)
    return guild_id, None


@route("GET", "/guilds/{guild_id}")
async def get_guild(ctx: Ctx) -> web.Response:
    guild_id, problem = _guild_or_error(ctx)
    return problem or json_response(ctx.state.guild_payload(guild_id))


@route("GET", "/guilds/{guild_id}/roles")
async def get_roles(ctx: Ctx) -> web.Response:
    guild_id, problem = _guild_or_error(ctx)
    return problem or json_response(ctx.state.guild_payload(guild_id)["roles"])


@route("GET", "/guilds/{guild_id}/channels")
async def get_guild_channels(ctx: Ctx) -> web.Response:
    """The guild's channels, without those the bot may not view (``permissions.mdx``, "Channel Visibility")."""
    guild_id, problem = _guild_or_error(ctx)
    if problem:
        return problem
    with ctx.state.lock:
        channels = [
            c
            for c in ctx.state.channels.values()
            if c.get("guild_id") == guild_id and ctx.state.bot_can_view(c["id"])
        ]
    return json_response(channels)


@route("GET", "/guilds/{guild_id}/members")
async def list_members(ctx: Ctx) -> web.Response:
    guild_id, problem = _guild_or_error(ctx)
    if problem:
        return problem
    # guild.mdx "List Guild Members": "This endpoint requires the GUILD_MEMBERS Privileged Intent".
    if not ctx.state.guild_members_intent:
        return err(MISSING_ACCESS)
    try:
        limit = int(ctx.query.get("limit", "1"))
        after = int(ctx.query.get("after", "0"))
    except ValueError:
        return invalid_form("limit", "Value is not int.")
    if not 1 <= limit <= MAX_MEMBERS_PAGE:
        return invalid_form("limit", f"int value should be less than or equal to {MAX_MEMBERS_PAGE}.")
    with ctx.state.lock:
        members = sorted(ctx.state.members[guild_id].values(), key=lambda m: int(m["user"]["id"]))
        page = [m for m in members if int(m["user"]["id"]) > after][:limit]
    return json_response(page)


@route("GET", "/guilds/{guild_id}/members/{user_id}")
async def get_member(ctx: Ctx) -> web.Response:
    guild_id, problem = _guild_or_error(ctx)
    if problem:
        return problem
    member = ctx.state.members[guild_id].get(ctx.params["user_id"])
    return json_response(member) if member else err(UNKNOWN_MEMBER)


def _role_change_problem(state: FakeDiscordState, guild_id: str, role_id: str) -> web.Response | None:
    role = state.roles[guild_id].get(role_id)
    if role is None:
        return err(UNKNOWN_ROLE)
    if role["managed"] or role["position"] >= state.bot_top_position(guild_id):
        return err(MISSING_PERMISSIONS)
    return None


def _set_member_role(ctx: Ctx, *, held: bool) -> web.Response:
    """Give (`held`) or take the path's role; like Discord, doing what is already so still succeeds."""
    guild_id, problem = _guild_or_error(ctx)
    if problem:
        return problem
    role_id = ctx.params["role_id"]
    with ctx.state.lock:
        member = ctx.state.members[guild_id].get(ctx.params["user_id"])
        if member is None:
            return err(UNKNOWN_MEMBER)
        if problem := _role_change_problem(ctx.state, guild_id, role_id):
            return problem
        if held and role_id not in member["roles"]:
            member["roles"].append(role_id)
        elif not held and role_id in member["roles"]:
            member["roles"].remove(role_id)
    ctx.server.emit_member_update(guild_id, member)
    return no_content()


@route("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}")
async def add_member_role(ctx: Ctx) -> web.Response:
    return _set_member_role(ctx, held=True)


@route("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}")
async def remove_member_role(ctx: Ctx) -> web.Response:
    return _set_member_role(ctx, held=False)


@route("PATCH", "/guilds/{guild_id}/members/{user_id}")
async def modify_member(ctx: Ctx) -> web.Response:
    guild_id, problem = _guild_or_error(ctx)
    if problem:
        return problem
    body = ctx.json or {}
    with ctx.state.lock:
        member = ctx.state.members[guild_id].get(ctx.params["user_id"])
        if member is None:
            return err(UNKNOWN_MEMBER)
        if "roles" in body:
            wanted = [str(r) for r in body["roles"] or []]
            changed = set(wanted) ^ set(member["roles"])
            for role_id in sorted(changed):
                if problem := _role_change_problem(ctx.state, guild_id, role_id):
                    return problem
            member["roles"] = wanted
        if "nick" in body:
            member["nick"] = body["nick"]
    ctx.server.emit_member_update(guild_id, member)
    return json_response(member)

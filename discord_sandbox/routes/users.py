"""Users: the current user (the bot, or the user behind a bearer token), a user by id, the user's guilds.

Discord's resource: ``developers/resources/user.mdx``; the client's "users and messages" section.
"""

from __future__ import annotations

from aiohttp import web

from discord_sandbox.routing import UNAUTHORIZED, UNKNOWN_USER, Ctx, err, json_response, route


@route("GET", "/users/@me", auth="bot_or_bearer")
async def get_current_user(ctx: Ctx) -> web.Response:
    if ctx.bearer_grant is None:
        return json_response(ctx.state.bot_user)
    user = dict(ctx.state.users[ctx.bearer_grant.user_id])
    if "email" not in ctx.bearer_grant.scope.split():
        user.pop("email", None)
        user.pop("verified", None)
    return json_response(user)


@route("GET", "/users/{user_id}")
async def get_user(ctx: Ctx) -> web.Response:
    user = ctx.state.users.get(ctx.params["user_id"])
    if user is None:
        return err(UNKNOWN_USER)
    return json_response(
        {k: v for k, v in user.items() if k not in ("email", "verified", "locale", "mfa_enabled")}
    )


@route("GET", "/users/@me/guilds", auth="bearer")
async def get_current_user_guilds(ctx: Ctx) -> web.Response:
    if "guilds" not in ctx.bearer_grant.scope.split():
        return err(UNAUTHORIZED)
    user_id = ctx.bearer_grant.user_id
    with ctx.state.lock:
        guilds = [
            {
                "id": g["id"],
                "name": g["name"],
                "icon": None,
                "owner": g["owner_id"] == user_id,
                "permissions": "0",
                "features": [],
            }
            for gid, g in ctx.state.guilds.items()
            if user_id in ctx.state.members[gid]
        ]
    return json_response(guilds)

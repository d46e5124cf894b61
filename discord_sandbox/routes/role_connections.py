"""Linked roles: the app's role-connection metadata (bot token) and each user's role connection (bearer).

Discord's resources: ``application-role-connection-metadata.mdx`` and the role-connection routes of
``user.mdx``.
"""

from __future__ import annotations

from aiohttp import web

from discord_sandbox.routing import UNAUTHORIZED, Ctx, err, json_response, route


@route("GET", "/users/@me/applications/{application_id}/role-connection", auth="bearer")
async def get_role_connection(ctx: Ctx) -> web.Response:
    empty = {"platform_name": None, "platform_username": None, "metadata": {}}
    return json_response(ctx.state.role_connections.get(ctx.bearer_grant.user_id, empty))


@route("PUT", "/users/@me/applications/{application_id}/role-connection", auth="bearer")
async def put_role_connection(ctx: Ctx) -> web.Response:
    if "role_connections.write" not in ctx.bearer_grant.scope.split():
        return err(UNAUTHORIZED)
    body = ctx.json or {}
    connection = {
        "platform_name": body.get("platform_name"),
        "platform_username": body.get("platform_username"),
        "metadata": {k: str(v) for k, v in (body.get("metadata") or {}).items()},
    }
    ctx.state.role_connections[ctx.bearer_grant.user_id] = connection
    return json_response(connection)


@route("GET", "/applications/{application_id}/role-connections/metadata")
async def get_role_connection_metadata(ctx: Ctx) -> web.Response:
    return json_response(ctx.state.role_connection_metadata)


@route("PUT", "/applications/{application_id}/role-connections/metadata")
async def put_role_connection_metadata(ctx: Ctx) -> web.Response:
    ctx.state.role_connection_metadata = list(ctx.json or [])
    return json_response(ctx.state.role_connection_metadata)

"""Linked roles: the app's role-connection metadata (bot token) and each user's role connection (bearer).

Discord's resources: ``application-role-connection-metadata.mdx`` and the role-connection routes of
``user.mdx``; DELETE, absent from the docs, from the OpenAPI spec. Bodies are checked by
``discord_sandbox.validation``: at most 5 metadata records, and a user's metadata against them (a key the app
registered, a value in its type's format). Another application's metadata answers 403/50001, as its
commands do.

The user routes need a bearer token whose grant holds ``role_connections.write``, "for the application
specified in the path" (``user.mdx``): else 401. Each token has its own bucket of 5 requests per 5 s unless a
test sets another limit: Discord does not publish the number, and the routes are limited per user far
below the generous default of the bot's routes.
"""

from __future__ import annotations

from aiohttp import web

from discord_sandbox.routing import (
    MISSING_ACCESS,
    UNAUTHORIZED,
    Ctx,
    err,
    json_response,
    no_content,
    route,
)
from discord_sandbox.validation import (
    check_role_connection,
    check_role_connection_metadata,
    metadata_value_string,
)

USER_ROLE_CONNECTION = "/users/@me/applications/{application_id}/role-connection"
METADATA = "/applications/{application_id}/role-connections/metadata"
USER_ROLE_CONNECTION_LIMIT = (5, 5.0)
METADATA_FIELDS = ("type", "key", "name", "name_localizations", "description", "description_localizations")


def _may_write_role_connection(ctx: Ctx) -> bool:
    return (
        ctx.params["application_id"] == ctx.state.application_id
        and "role_connections.write" in ctx.bearer_grant.scope.split()
    )


@route("GET", USER_ROLE_CONNECTION, auth="bearer", rate_limit=USER_ROLE_CONNECTION_LIMIT)
async def get_role_connection(ctx: Ctx) -> web.Response:
    if not _may_write_role_connection(ctx):
        return err(UNAUTHORIZED)
    connection = ctx.state.role_connection_of(ctx.bearer_grant.user_id)
    return json_response(connection or {"platform_name": None, "platform_username": None, "metadata": {}})


@route("PUT", USER_ROLE_CONNECTION, auth="bearer", rate_limit=USER_ROLE_CONNECTION_LIMIT)
async def put_role_connection(ctx: Ctx) -> web.Response:
    if not _may_write_role_connection(ctx):
        return err(UNAUTHORIZED)
    state = ctx.state
    with state.lock:
        if problem := check_role_connection(ctx.json, registered=state.role_connection_metadata):
            return problem
        body = ctx.json
        connection = {
            "platform_name": body.get("platform_name"),
            "platform_username": body.get("platform_username"),
            "metadata": {k: metadata_value_string(v) for k, v in (body.get("metadata") or {}).items()},
        }
        state.store_role_connection(ctx.bearer_grant.user_id, connection)
    return json_response(connection)


@route("DELETE", USER_ROLE_CONNECTION, auth="bearer", rate_limit=USER_ROLE_CONNECTION_LIMIT)
async def delete_role_connection(ctx: Ctx) -> web.Response:
    if not _may_write_role_connection(ctx):
        return err(UNAUTHORIZED)
    ctx.state.delete_role_connection(ctx.bearer_grant.user_id)
    return no_content()


@route("GET", METADATA)
async def get_role_connection_metadata(ctx: Ctx) -> web.Response:
    if ctx.params["application_id"] != ctx.state.application_id:
        return err(MISSING_ACCESS)
    with ctx.state.lock:
        return json_response(ctx.state.role_connection_metadata)


@route("PUT", METADATA)
async def put_role_connection_metadata(ctx: Ctx) -> web.Response:
    if ctx.params["application_id"] != ctx.state.application_id:
        return err(MISSING_ACCESS)
    if problem := check_role_connection_metadata(ctx.json):
        return problem
    records = [{k: record[k] for k in METADATA_FIELDS if k in record} for record in ctx.json or []]
    with ctx.state.lock:
        ctx.state.role_connection_metadata = records
    return json_response(records)

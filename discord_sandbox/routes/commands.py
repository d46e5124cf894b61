"""Application commands, global and per guild: list, bulk overwrite, create (upsert by name), edit, delete.

Discord's resource: ``interactions/application-commands.mdx``; the client's "application commands"
section. Another application's commands answer 403/50001. Bodies are checked by
``discord_sandbox.validation`` (names, descriptions, options, choices), and a bulk overwrite holds at most
100 CHAT_INPUT, 15 USER and 15 MESSAGE commands (``application-commands.mdx``, "Registering a Command").
"""

from __future__ import annotations

from aiohttp import web

from discord_sandbox.routing import (
    MISSING_ACCESS,
    Ctx,
    err,
    error,
    invalid_form,
    json_response,
    no_content,
    route,
)
from discord_sandbox.validation import check_command, check_commands

# Per scope and command type: CHAT_INPUT, USER, MESSAGE.
COMMANDS_MAX = {1: 100, 2: 15, 3: 15}


def _commands_list(ctx: Ctx) -> list[dict] | None:
    if ctx.params["application_id"] != ctx.state.application_id:
        return None
    guild_id = ctx.params.get("guild_id")
    if guild_id is None:
        return ctx.state.global_commands
    return ctx.state.guild_commands.setdefault(guild_id, [])


def _command_payload(ctx: Ctx, body: dict, existing: dict | None) -> dict:
    guild_id = ctx.params.get("guild_id")
    command = {
        "id": existing["id"] if existing else ctx.state.snowflake(),
        "application_id": ctx.state.application_id,
        "version": ctx.state.snowflake(),
        "type": body.get("type", 1),
        "name": body["name"],
        "name_localizations": body.get("name_localizations"),
        "description": body.get("description", ""),
        "description_localizations": body.get("description_localizations"),
        "options": body.get("options", []),
        "default_member_permissions": body.get("default_member_permissions"),
        "dm_permission": body.get("dm_permission", True),
        "nsfw": body.get("nsfw", False),
        "integration_types": body.get("integration_types", [0]),
        "contexts": body.get("contexts"),
    }
    if guild_id:
        command["guild_id"] = guild_id
    return command


def _find_command(commands: list[dict], body: dict) -> dict | None:
    return next(
        (c for c in commands if c["name"] == body.get("name") and c["type"] == body.get("type", 1)), None
    )


@route("GET", "/applications/{application_id}/commands")
@route("GET", "/applications/{application_id}/guilds/{guild_id}/commands")
async def get_commands(ctx: Ctx) -> web.Response:
    commands = _commands_list(ctx)
    return err(MISSING_ACCESS) if commands is None else json_response(commands)


@route("PUT", "/applications/{application_id}/commands")
@route("PUT", "/applications/{application_id}/guilds/{guild_id}/commands")
async def bulk_overwrite_commands(ctx: Ctx) -> web.Response:
    commands = _commands_list(ctx)
    if commands is None:
        return err(MISSING_ACCESS)
    body = ctx.json
    if problem := check_commands(body):
        return problem
    for kind, limit in COMMANDS_MAX.items():
        if sum(1 for c in body if c.get("type", 1) == kind) > limit:
            return invalid_form("_errors", f"Must be {limit} or fewer in length.", "BASE_TYPE_MAX_LENGTH")
    with ctx.state.lock:
        replaced = [_command_payload(ctx, c, _find_command(commands, c)) for c in body]
        commands[:] = replaced
    return json_response(replaced)


@route("POST", "/applications/{application_id}/commands")
@route("POST", "/applications/{application_id}/guilds/{guild_id}/commands")
async def upsert_command(ctx: Ctx) -> web.Response:
    commands = _commands_list(ctx)
    if commands is None:
        return err(MISSING_ACCESS)
    if problem := check_command(ctx.json):
        return problem
    with ctx.state.lock:
        existing = _find_command(commands, ctx.json or {})
        command = _command_payload(ctx, ctx.json or {}, existing)
        if existing:
            commands[commands.index(existing)] = command
        else:
            commands.append(command)
    return json_response(command, status=200 if existing else 201)


@route("PATCH", "/applications/{application_id}/commands/{command_id}")
@route("PATCH", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}")
async def edit_command(ctx: Ctx) -> web.Response:
    commands = _commands_list(ctx) or []
    with ctx.state.lock:
        command = next((c for c in commands if c["id"] == ctx.params["command_id"]), None)
        if command is None:
            return error(404, 10063, "Unknown application command")
        edited = {**command, **{k: v for k, v in (ctx.json or {}).items() if k != "id"}}
        if problem := check_command(edited):
            return problem
        command.update(edited)
    return json_response(command)


@route("DELETE", "/applications/{application_id}/commands/{command_id}")
@route("DELETE", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}")
async def delete_command(ctx: Ctx) -> web.Response:
    commands = _commands_list(ctx) or []
    with ctx.state.lock:
        command = next((c for c in commands if c["id"] == ctx.params["command_id"]), None)
        if command is None:
            return error(404, 10063, "Unknown application command")
        commands.remove(command)
    return no_content()

"""The fake Discord REST API (and gateway endpoint) as an aiohttp app served from a background thread.

Every route runs through ``_dispatch``: record → authenticate → global limit → injected failure →
per-route limit → handler → rate-limit headers. Bodies are JSON with ``Content-Type`` exactly
``application/json`` because nextcord parses JSON only on that literal value (``nextcord/http.py``
``json_or_text``), and every 429 carries a ``Via`` header, without which nextcord assumes a Cloudflare ban.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import math
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

from aiohttp import web

from discord_sandbox.state import (
    BucketWindow,
    FakeDiscordState,
    InjectedFailure,
    RateLimitRule,
    RecordedRequest,
    _hash,
)

API_PREFIXES = ("/api/v10", "/api")
# Generous defaults so tests that don't configure limits never wait, while every response still carries
# real X-RateLimit-* headers for the governor to learn from.
DEFAULT_ROUTE_LIMIT = 100
DEFAULT_ROUTE_WINDOW = 1.0
MAX_MEMBERS_PAGE = 1000

JSON_HEADERS = {"Content-Type": "application/json"}
SERVER_KEY = web.AppKey("server", object)


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=json.dumps(payload).encode(), status=status, headers={**JSON_HEADERS, **(headers or {})}
    )


def error(status: int, code: int, message: str) -> web.Response:
    return json_response({"message": message, "code": code}, status=status)


def no_content() -> web.Response:
    return web.Response(status=204)


UNAUTHORIZED = (401, 0, "401: Unauthorized")
UNKNOWN_GUILD = (404, 10004, "Unknown Guild")
UNKNOWN_CHANNEL = (404, 10003, "Unknown Channel")
UNKNOWN_MEMBER = (404, 10007, "Unknown Member")
UNKNOWN_MESSAGE = (404, 10008, "Unknown Message")
UNKNOWN_ROLE = (404, 10011, "Unknown Role")
UNKNOWN_USER = (404, 10013, "Unknown User")
UNKNOWN_WEBHOOK = (404, 10015, "Unknown Webhook")
UNKNOWN_INTERACTION = (404, 10062, "Unknown interaction")
MISSING_ACCESS = (403, 50001, "Missing Access")
MISSING_PERMISSIONS = (403, 50013, "Missing Permissions")
CANNOT_DM = (403, 50007, "Cannot send messages to this user")
ALREADY_ACKNOWLEDGED = (400, 40060, "Interaction has already been acknowledged.")


def err(spec: tuple[int, int, str]) -> web.Response:
    return error(*spec)


def invalid_form(field: str, message: str) -> web.Response:
    return json_response(
        {
            "message": "Invalid Form Body",
            "code": 50035,
            "errors": {field: {"_errors": [{"code": "BASE_TYPE_INVALID", "message": message}]}},
        },
        status=400,
    )


@dataclass
class Ctx:
    """What a handler gets: the state, the aiohttp request, path params, parsed body and the auth used."""

    state: FakeDiscordState
    request: web.Request
    params: dict[str, str]
    query: dict[str, str]
    json: Any
    form: dict[str, str] | None
    bearer_grant: Any = None

    @property
    def server(self) -> FakeDiscordServer:
        return self.request.app[SERVER_KEY]


Handler = Callable[[Ctx], Awaitable[web.Response]]


@dataclass
class RouteSpec:
    method: str
    template: str
    handler: Handler
    auth: str  # "bot", "bot_or_bearer", "bearer", "client" (OAuth client credentials) or "none"
    global_exempt: bool = False  # interaction callbacks and webhooks aren't bound to the global limit


ROUTES: list[RouteSpec] = []


def route(method: str, template: str, *, auth: str = "bot", global_exempt: bool = False):
    def register(handler: Handler) -> Handler:
        ROUTES.append(RouteSpec(method, template, handler, auth, global_exempt))
        return handler

    return register


# --- users, gateway ---------------------------------------------------------------------------------
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


@route("POST", "/users/@me/channels")
async def create_dm(ctx: Ctx) -> web.Response:
    recipient = str((ctx.json or {}).get("recipient_id", ""))
    if recipient not in ctx.state.users:
        return (
            invalid_form("recipient_id", "Value is not snowflake.")
            if not recipient.isdigit()
            else err(UNKNOWN_USER)
        )
    return json_response(ctx.state.dm_channel_for(recipient))


@route("GET", "/gateway", auth="none")
async def get_gateway(ctx: Ctx) -> web.Response:
    return json_response({"url": ctx.server.ws_url})


@route("GET", "/gateway/bot")
async def get_gateway_bot(ctx: Ctx) -> web.Response:
    return json_response(
        {
            "url": ctx.server.ws_url,
            "shards": 1,
            "session_start_limit": {
                "total": 1000,
                "remaining": 999,
                "reset_after": 14400000,
                "max_concurrency": 1,
            },
        }
    )


# --- channels, messages ---------------------------------------------------------------------------
@route("GET", "/channels/{channel_id}")
async def get_channel(ctx: Ctx) -> web.Response:
    channel = ctx.state.channels.get(ctx.params["channel_id"])
    return json_response(channel) if channel else err(UNKNOWN_CHANNEL)


def _message_body_problem(body: Any) -> web.Response | None:
    if not isinstance(body, dict) or not (
        body.get("content") or body.get("embeds") or body.get("components")
    ):
        return json_response({"message": "Cannot send an empty message", "code": 50006}, status=400)
    if len(body.get("content") or "") > 2000:
        return invalid_form("content", "Must be 2000 or fewer in length.")
    if len(body.get("embeds") or []) > 10:
        return invalid_form("embeds", "Must be 10 or fewer in length.")
    return None


@route("POST", "/channels/{channel_id}/messages")
async def create_message(ctx: Ctx) -> web.Response:
    state, channel_id = ctx.state, ctx.params["channel_id"]
    channel = state.channels.get(channel_id)
    if channel is None:
        return err(UNKNOWN_CHANNEL)
    if problem := _message_body_problem(ctx.json):
        return problem
    if channel["type"] == 1 and any(u["id"] in state.dms_closed for u in channel["recipients"]):
        return err(CANNOT_DM)
    return json_response(state.make_message(channel_id, ctx.json))


@route("PATCH", "/channels/{channel_id}/messages/{message_id}")
async def edit_message(ctx: Ctx) -> web.Response:
    message = ctx.state.messages.get(ctx.params["channel_id"], {}).get(ctx.params["message_id"])
    if message is None:
        return err(UNKNOWN_MESSAGE)
    return json_response(_apply_edit(message, ctx.json or {}))


@route("DELETE", "/channels/{channel_id}/messages/{message_id}")
async def delete_message(ctx: Ctx) -> web.Response:
    with ctx.state.lock:
        message = ctx.state.messages.get(ctx.params["channel_id"], {}).pop(ctx.params["message_id"], None)
    return no_content() if message else err(UNKNOWN_MESSAGE)


def _apply_edit(message: dict, body: dict) -> dict:
    for key in ("content", "embeds", "components", "flags"):
        if key in body:
            message[key] = body[key] if body[key] is not None else ([] if key != "content" else "")
    message["edited_timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    return message


# --- guilds, roles, members -----------------------------------------------------------------------
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
    guild_id, problem = _guild_or_error(ctx)
    return problem or json_response([c for c in ctx.state.channels.values() if c.get("guild_id") == guild_id])


@route("GET", "/guilds/{guild_id}/members")
async def list_members(ctx: Ctx) -> web.Response:
    guild_id, problem = _guild_or_error(ctx)
    if problem:
        return problem
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


# --- application commands -------------------------------------------------------------------------
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
    if not isinstance(body, list) or any(not isinstance(c, dict) or not c.get("name") for c in body):
        return invalid_form("0.name", "This field is required")
    if len(body) > 200:
        return invalid_form("_errors", "Must be 200 or fewer in length.")
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
        command.update({k: v for k, v in (ctx.json or {}).items() if k != "id"})
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


# --- interactions and their webhooks --------------------------------------------------------------
@route("POST", "/interactions/{interaction_id}/{interaction_token}/callback", auth="none", global_exempt=True)
async def interaction_callback(ctx: Ctx) -> web.Response:
    state = ctx.state
    interaction = state.interaction(ctx.params["interaction_token"])
    if interaction is None or interaction.id != ctx.params["interaction_id"]:
        return err(UNKNOWN_INTERACTION)
    body = ctx.json or {}
    with state.lock:
        if interaction.responded:
            return err(ALREADY_ACKNOWLEDGED)
        interaction.responded = True
        interaction.response = body
        data = body.get("data") or {}
        if body.get("type") in (4, 5) and interaction.channel_id:
            interaction.original_message = state.make_message(
                interaction.channel_id,
                data,
                webhook_id=interaction.application_id,
            )
    if ctx.query.get("with_response") == "true":
        return json_response(
            {
                "interaction": {
                    "id": interaction.id,
                    "type": 2,
                    "response_message_loading": body.get("type") == 5,
                    "response_message_ephemeral": bool((data.get("flags") or 0) & 64),
                },
                "resource": {"type": body.get("type"), "message": interaction.original_message},
            }
        )
    return no_content()


def _interaction_for_webhook(ctx: Ctx):
    interaction = ctx.state.interaction(ctx.params["webhook_token"])
    if interaction is None or interaction.application_id != ctx.params["webhook_id"]:
        return None
    return interaction


@route("POST", "/webhooks/{webhook_id}/{webhook_token}", auth="none", global_exempt=True)
async def create_followup(ctx: Ctx) -> web.Response:
    interaction = _interaction_for_webhook(ctx)
    if interaction is None:
        return err(UNKNOWN_WEBHOOK)
    if problem := _message_body_problem(ctx.json):
        return problem
    message = ctx.state.make_message(
        interaction.channel_id or "0", ctx.json, webhook_id=interaction.application_id
    )
    interaction.followups.append(message)
    return json_response(message)


def _webhook_message(ctx: Ctx, interaction) -> dict | None:
    message_id = ctx.params.get("message_id", "@original")
    if message_id == "@original":
        return interaction.original_message
    return next((m for m in interaction.followups if m["id"] == message_id), None)


def _webhook_target(ctx: Ctx) -> tuple[object, dict | None, web.Response | None]:
    """The interaction and message a webhook message path names, or the error Discord answers instead."""
    interaction = _interaction_for_webhook(ctx)
    if interaction is None:
        return None, None, err(UNKNOWN_WEBHOOK)
    message = _webhook_message(ctx, interaction)
    if message is None:
        return interaction, None, err(UNKNOWN_MESSAGE)
    return interaction, message, None


@route("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/@original", auth="none", global_exempt=True)
@route("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", auth="none", global_exempt=True)
async def get_webhook_message(ctx: Ctx) -> web.Response:
    _, message, problem = _webhook_target(ctx)
    return problem if problem is not None else json_response(message)


@route("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/@original", auth="none", global_exempt=True)
@route(
    "PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", auth="none", global_exempt=True
)
async def edit_webhook_message(ctx: Ctx) -> web.Response:
    with ctx.state.lock:
        _, message, problem = _webhook_target(ctx)
        if problem is not None:
            return problem
        return json_response(_apply_edit(message, ctx.json or {}))


@route("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/@original", auth="none", global_exempt=True)
@route(
    "DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", auth="none", global_exempt=True
)
async def delete_webhook_message(ctx: Ctx) -> web.Response:
    with ctx.state.lock:
        interaction, message, problem = _webhook_target(ctx)
        if problem is not None:
            return problem
        ctx.state.messages.get(message["channel_id"], {}).pop(message["id"], None)
        if message is interaction.original_message:
            interaction.original_message = None
        else:
            interaction.followups.remove(message)
    return no_content()


# --- OAuth2 ---------------------------------------------------------------------------------------
def oauth_error(error_code: str, description: str, status: int = 400) -> web.Response:
    return json_response({"error": error_code, "error_description": description}, status=status)


@route("GET", "/oauth2/authorize", auth="none", global_exempt=True)
async def oauth_authorize(ctx: Ctx) -> web.Response:
    state, query = ctx.state, ctx.query
    if query.get("client_id") != state.application_id:
        return error(400, 50035, "Invalid Form Body")
    if query.get("response_type") != "code" or not query.get("redirect_uri") or not query.get("scope"):
        return error(400, 50035, "Invalid Form Body")
    redirect_uri = query["redirect_uri"]
    params: dict[str, str] = {}
    if state.oauth_deny:
        params = {
            "error": "access_denied",
            "error_description": "The resource owner or authorization server denied the request",
        }
    else:
        user_id = state.oauth_consent_user_id or _first_human(state)
        params = {
            "code": state.authorize(
                user_id=user_id, scope=query["scope"].replace("+", " "), redirect_uri=redirect_uri
            )
        }
    if query.get("state") is not None:
        params["state"] = query["state"]
    separator = "&" if "?" in redirect_uri else "?"
    return web.Response(status=302, headers={"Location": f"{redirect_uri}{separator}{urlencode(params)}"})


def _first_human(state: FakeDiscordState) -> str:
    with state.lock:
        humans = [u for u in state.users.values() if not u["bot"]]
        return humans[0]["id"] if humans else state.add_user(username="oauthuser")["id"]


def _client_credentials(ctx: Ctx) -> tuple[str | None, str | None]:
    header = ctx.request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        return client_id, secret
    form = ctx.form or {}
    return form.get("client_id"), form.get("client_secret")


def _oauth_form_problem(ctx: Ctx) -> web.Response | None:
    # Discord's token endpoints read application/x-www-form-urlencoded only; a JSON body has no grant type.
    if ctx.form is None:
        return oauth_error("unsupported_grant_type", "Grant type None is not supported")
    client_id, secret = _client_credentials(ctx)
    if client_id != ctx.state.application_id or secret != ctx.state.client_secret:
        return oauth_error("invalid_client", "Unknown client", status=401)
    return None


@route("POST", "/oauth2/token", auth="none", global_exempt=True)
async def oauth_token(ctx: Ctx) -> web.Response:
    if problem := _oauth_form_problem(ctx):
        return problem
    state, form = ctx.state, ctx.form
    grant_type = form.get("grant_type")
    with state.lock:
        if grant_type == "authorization_code":
            grant = state.grant_by(code=form.get("code", ""))
            if grant is None or grant.code_used or grant.code_expires_at < time.time():
                return oauth_error("invalid_grant", 'Invalid "code" in request.')
            if form.get("redirect_uri") != grant.redirect_uri:
                return oauth_error("invalid_grant", 'Invalid "redirect_uri" in request.')
            grant.code_used = True
            return json_response(state.issue_tokens(grant))
        if grant_type == "refresh_token":
            grant = state.grant_by(refresh_token=form.get("refresh_token", ""))
            if grant is None:
                return oauth_error("invalid_grant", "Invalid refresh token")
            return json_response(state.issue_tokens(grant))
    return oauth_error("unsupported_grant_type", f"Grant type {grant_type} is not supported")


@route("POST", "/oauth2/token/revoke", auth="none", global_exempt=True)
async def oauth_revoke(ctx: Ctx) -> web.Response:
    if problem := _oauth_form_problem(ctx):
        return problem
    token = ctx.form.get("token")
    if not token:
        return oauth_error("invalid_request", 'Missing "token" in request.')
    with ctx.state.lock:
        grant = ctx.state.grant_by(access_token=token) or ctx.state.grant_by(refresh_token=token)
        if grant is not None:
            grant.revoked = True
    # RFC 7009: an unknown or already revoked token is not an error.
    return json_response({})


@route("GET", "/oauth2/@me", auth="bearer")
async def oauth_me(ctx: Ctx) -> web.Response:
    grant = ctx.bearer_grant
    return json_response(
        {
            "application": {"id": ctx.state.application_id, "name": "DealScale", "bot_public": True},
            "scopes": grant.scope.split(),
            "expires": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(grant.access_expires_at)),
            "user": ctx.state.users[grant.user_id],
        }
    )


# --- the dispatcher -------------------------------------------------------------------------------
def _rate_limit_429(retry_after: float, *, is_global: bool, scope: str) -> web.Response:
    headers = {
        "Retry-After": str(max(1, math.ceil(retry_after))),
        "X-RateLimit-Scope": scope,
        "Via": "1.1 google",
    }
    if is_global:
        headers["X-RateLimit-Global"] = "true"
    return json_response(
        {"message": "You are being rate limited.", "retry_after": round(retry_after, 3), "global": is_global},
        status=429,
        headers=headers,
    )


def _major_key(params: dict[str, str]) -> str:
    for name in ("guild_id", "channel_id"):
        if name in params:
            return f"{name}={params[name]}"
    if "webhook_id" in params:
        return f"webhook={params['webhook_id']}/{params.get('webhook_token', '')}"
    if "interaction_id" in params:
        return f"interaction={params['interaction_id']}"
    return ""


class FakeDiscordServer:
    """Runs the app on 127.0.0.1 in its own thread with its own event loop."""

    def __init__(self, state: FakeDiscordState | None = None) -> None:
        self.state = state or FakeDiscordState()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.port: int = 0
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._started = threading.Event()
        from discord_sandbox.gateway import FakeGateway

        self.gateway = FakeGateway(self)

    # --- addresses
    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/api/v10"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway-ws"

    # --- lifecycle
    def start(self) -> FakeDiscordServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, args=(sock,), name="fake-discord", daemon=True)
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the fake Discord server did not start within 10 s")
        return self

    def _serve(self, sock: socket.socket) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self._runner = web.AppRunner(self.build_app(), handle_signals=False, access_log=None)
        self.loop.run_until_complete(self._runner.setup())
        self.loop.run_until_complete(web.SockSite(self._runner, sock).start())
        self._started.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self._runner.cleanup())
        self.loop.close()

    def stop(self) -> None:
        if self.loop is None:
            return
        self.call(self.gateway.close_all(code=1001))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def call(self, coro: Awaitable, timeout: float = 10.0) -> Any:
        """Run a coroutine on the server's loop from the test thread and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def reset(self) -> None:
        self.call(self.gateway.close_all(code=1001))
        self.state.reset()
        self.gateway.reset()

    def emit_member_update(self, guild_id: str, member: dict) -> None:
        """Tell connected gateway sessions about a member's new roles, as Discord does after a role change."""
        self.gateway.dispatch_nowait("GUILD_MEMBER_UPDATE", dict(member, guild_id=guild_id))

    # --- app
    def build_app(self) -> web.Application:
        app = web.Application()
        app[SERVER_KEY] = self
        for spec in ROUTES:
            for prefix in API_PREFIXES:
                app.router.add_route(spec.method, prefix + spec.template, self._handler_for(spec))
        # Discord serves the consent page outside /api too; allauth's provider uses the /api one.
        authorize = next(s for s in ROUTES if s.template == "/oauth2/authorize")
        app.router.add_route("GET", "/oauth2/authorize", self._handler_for(authorize))
        app.router.add_route("GET", "/gateway-ws", self.gateway.handle)
        return app

    def _handler_for(self, spec: RouteSpec) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            return await self._dispatch(request, spec)

        return handle

    async def _dispatch(self, request: web.Request, spec: RouteSpec) -> web.Response:
        state = self.state
        body = await request.read()
        payload, form = None, None
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type == "application/json" and body:
            try:
                payload = json.loads(body)
            except ValueError:
                return error(400, 50109, "The request body contains invalid JSON.")
        elif content_type == "application/x-www-form-urlencoded":
            form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        reason = request.headers.get("X-Audit-Log-Reason")
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            route=spec.template,
            query=dict(request.query),
            headers=dict(request.headers),
            json=payload,
            form=form,
            body=body,
            time=time.time(),
            audit_log_reason=unquote(reason) if reason is not None else None,
        )
        with state.lock:
            state.requests.append(recorded)
        ctx = Ctx(
            state=state,
            request=request,
            params=dict(request.match_info),
            query=dict(request.query),
            json=payload,
            form=form,
        )
        response = await self._respond(ctx, spec)
        recorded.status = response.status
        if response.status in (401, 403) or (
            response.status == 429 and response.headers.get("X-RateLimit-Scope") != "shared"
        ):
            with state.lock:
                state.invalid_requests += 1
        return response

    async def _respond(self, ctx: Ctx, spec: RouteSpec) -> web.Response:
        state = ctx.state
        auth = ctx.request.headers.get("Authorization", "")
        if spec.auth != "none":
            if auth == f"Bot {state.bot_token}" and spec.auth in ("bot", "bot_or_bearer"):
                pass
            elif auth.startswith("Bearer ") and spec.auth in ("bearer", "bot_or_bearer"):
                grant = state.grant_by(access_token=auth[7:])
                if grant is None or grant.access_expires_at < time.time():
                    return err(UNAUTHORIZED)
                ctx.bearer_grant = grant
            else:
                return err(UNAUTHORIZED)

        if not spec.global_exempt and auth:
            if limited := self._take_global(auth):
                return limited

        key = f"{spec.method} {spec.template}"
        failure = state.take_failure(spec.method, spec.template)
        if failure is not None:
            return self._failure_response(failure, key)

        with state.lock:
            rule = state.rate_limits.get(key) or RateLimitRule(
                limit=DEFAULT_ROUTE_LIMIT, window=DEFAULT_ROUTE_WINDOW, bucket=_hash(key)
            )
            now = time.time()
            window_key = (rule.bucket, _major_key(ctx.params) + "|" + auth)
            window = state.bucket_windows.get(window_key)
            if window is None or window.reset_at <= now:
                window = state.bucket_windows[window_key] = BucketWindow(
                    remaining=rule.limit, reset_at=now + rule.window
                )
            if window.remaining <= 0:
                state.ratelimit_hits[rule.bucket] = state.ratelimit_hits.get(rule.bucket, 0) + 1
                limited = _rate_limit_429(window.reset_at - now, is_global=False, scope="user")
                limited.headers.update(_limit_headers(rule, window, now))
                return limited
            window.remaining -= 1
            headers = _limit_headers(rule, window, now)

        response = await spec.handler(ctx)
        response.headers.update(headers)
        return response

    def _take_global(self, auth: str) -> web.Response | None:
        state = self.state
        with state.lock:
            now = time.time()
            second = int(now)
            window_second, count = state.global_windows.get(auth, (second, 0))
            if window_second != second:
                count = 0
            if count >= state.global_limit:
                state.ratelimit_hits["global"] = state.ratelimit_hits.get("global", 0) + 1
                return _rate_limit_429(second + 1 - now, is_global=True, scope="global")
            state.global_windows[auth] = (second, count + 1)
        return None

    def _failure_response(self, failure: InjectedFailure, key: str) -> web.Response:
        if failure.status == 429:
            rule = self.state.rate_limits.get(key)
            bucket_name = "global" if failure.is_global else (rule.bucket if rule else _hash(key))
            with self.state.lock:
                self.state.ratelimit_hits[bucket_name] = self.state.ratelimit_hits.get(bucket_name, 0) + 1
            response = _rate_limit_429(failure.retry_after, is_global=failure.is_global, scope=failure.scope)
            if not failure.is_global:
                response.headers.update(
                    {
                        "X-RateLimit-Limit": "1",
                        "X-RateLimit-Remaining": "0",
                        "X-RateLimit-Reset": f"{time.time() + failure.retry_after:.3f}",
                        "X-RateLimit-Reset-After": f"{failure.retry_after:.3f}",
                        "X-RateLimit-Bucket": bucket_name,
                    }
                )
            return response
        if failure.body is not None:
            return json_response(failure.body, status=failure.status)
        if failure.status >= 500:
            # Discord's edge answers 5xx with an HTML page, not JSON; clients must cope.
            return web.Response(
                status=failure.status,
                text="<html><body>upstream error</body></html>",
                content_type="text/html",
            )
        defaults = {401: UNAUTHORIZED, 403: MISSING_PERMISSIONS, 404: UNKNOWN_MEMBER}
        return err(defaults.get(failure.status, (failure.status, 0, f"{failure.status}: Error")))


def _limit_headers(rule: RateLimitRule, window: BucketWindow, now: float) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(rule.limit),
        "X-RateLimit-Remaining": str(window.remaining),
        "X-RateLimit-Reset": f"{window.reset_at:.3f}",
        "X-RateLimit-Reset-After": f"{max(0.0, window.reset_at - now):.3f}",
        "X-RateLimit-Bucket": rule.bucket,
    }

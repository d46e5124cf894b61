"""How a route module declares its routes, what a handler gets, and how it answers the way Discord does.

A handler is registered with ``@route(method, template, auth=...)`` and takes a ``Ctx``. It answers with
``json_response`` (the body's ``Content-Type`` exactly ``application/json``: nextcord parses JSON only on
that literal value, ``nextcord/http.py`` ``json_or_text``) or one of Discord's error shapes: ``err(UNKNOWN_…)``
for ``{"message", "code"}``, ``invalid_form`` for a 50035 with its ``errors`` tree.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from discord_sandbox.state import FakeDiscordState

if TYPE_CHECKING:
    from discord_sandbox.server import FakeDiscordServer

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


def message_body_problem(body: Any) -> web.Response | None:
    """Discord's answer to a message body it refuses (channel messages and webhook follow-ups alike)."""
    if not isinstance(body, dict) or not (
        body.get("content") or body.get("embeds") or body.get("components")
    ):
        return json_response({"message": "Cannot send an empty message", "code": 50006}, status=400)
    if len(body.get("content") or "") > 2000:
        return invalid_form("content", "Must be 2000 or fewer in length.")
    if len(body.get("embeds") or []) > 10:
        return invalid_form("embeds", "Must be 10 or fewer in length.")
    return None


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


# Filled by the route modules as they are imported (``discord_sandbox.routes`` imports them all). aiohttp
# tries routes in registration order, so routes whose templates match the same path (GET /users/@me and
# /users/{user_id}) live in one module, the literal one first.
ROUTES: list[RouteSpec] = []


def route(method: str, template: str, *, auth: str = "bot", global_exempt: bool = False):
    def register(handler: Handler) -> Handler:
        ROUTES.append(RouteSpec(method, template, handler, auth, global_exempt))
        return handler

    return register

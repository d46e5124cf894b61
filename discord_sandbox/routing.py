"""How a route module declares its routes, what a handler gets, and how it answers the way Discord does.

A handler is registered with ``@route(method, template, auth=...)`` and takes a ``Ctx``. It answers with
``json_response`` (the body's ``Content-Type`` exactly ``application/json``: nextcord parses JSON only on
that literal value, ``nextcord/http.py`` ``json_or_text``) or one of Discord's error shapes: ``err(UNKNOWN_…)``
for ``{"message", "code"}``, ``invalid_form`` (or a filled ``FormErrors``) for a 50035 with its ``errors``
tree. What Discord refuses in a body is decided once, in ``discord_sandbox.validation``.
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
INVALID_WEBHOOK_TOKEN = (401, 50027, "Invalid Webhook Token")
EMPTY_MESSAGE = (400, 50006, "Cannot send an empty message")
NOT_MESSAGE_AUTHOR = (403, 50005, "Cannot edit a message authored by another user")


def err(spec: tuple[int, int, str]) -> web.Response:
    return error(*spec)


class FormErrors:
    """Discord's 50035 ``errors`` tree, filled field path by field path.

    A path names the field as Discord does, keys and list indexes alike as strings:
    ``("embeds", 0, "title")`` becomes ``{"embeds": {"0": {"title": {"_errors": [...]}}}}``
    (``developers/reference.mdx``, "Error Messages").
    """

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}

    def __bool__(self) -> bool:
        return bool(self.tree)

    def add(self, path: tuple[str | int, ...], code: str, message: str) -> None:
        node = self.tree
        for key in path:
            node = node.setdefault(str(key), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def response(self) -> web.Response:
        return json_response({"message": "Invalid Form Body", "code": 50035, "errors": self.tree}, status=400)


def invalid_form(field: str, message: str, code: str = "BASE_TYPE_INVALID") -> web.Response:
    """A 50035 for one field; a dotted ``field`` ("0.name") is a path, "_errors" the body itself."""
    errors = FormErrors()
    errors.add(tuple(part for part in field.split(".") if part != "_errors"), code, message)
    return errors.response()


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
    # (requests, seconds) per token and major parameter when the test sets no limit of its own; None: the
    # server's generous default.
    rate_limit: tuple[int, float] | None = None


# Filled by the route modules as they are imported (``discord_sandbox.routes`` imports them all). aiohttp
# tries routes in registration order, so routes whose templates match the same path (GET /users/@me and
# /users/{user_id}) live in one module, the literal one first.
ROUTES: list[RouteSpec] = []


def route(
    method: str,
    template: str,
    *,
    auth: str = "bot",
    global_exempt: bool = False,
    rate_limit: tuple[int, float] | None = None,
):
    def register(handler: Handler) -> Handler:
        ROUTES.append(RouteSpec(method, template, handler, auth, global_exempt, rate_limit))
        return handler

    return register

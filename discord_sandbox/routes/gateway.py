"""Where the gateway is: ``GET /gateway`` and ``/gateway/bot`` answer the fake's websocket URL.

The websocket itself (HELLO, IDENTIFY, RESUME, dispatches) is ``discord_sandbox.gateway``.
"""

from __future__ import annotations

from aiohttp import web

from discord_sandbox.routing import Ctx, json_response, route


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
                "max_concurrency": ctx.server.gateway.max_concurrency,
            },
        }
    )

"""The fake Discord's HTTP server: an aiohttp app served on 127.0.0.1 from a background thread.

It mounts every route of ``discord_sandbox.routes`` under ``/api/v10`` and ``/api`` (plus the consent page
at ``/oauth2/authorize``) and the gateway websocket at ``/gateway-ws``. Every route runs through
``_dispatch``: record → authenticate → global limit → injected failure → per-route limit → handler →
rate-limit headers. Every 429 carries a ``Via`` header, without which nextcord assumes a Cloudflare ban.

An injected failure (``FakeDiscordState.fail_next``) answers before the handler, or, with ``after_work``,
after it: the route did its work but the client sees a 5xx, a 429, a hung response or a closed connection.
A hung response is released (and its work skipped) when the state is reset, so it never leaks into the
next test.
"""

from __future__ import annotations

import asyncio
import json
import math
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, unquote

from aiohttp import web

from discord_sandbox.gateway import FakeGateway
from discord_sandbox.routes import ROUTES
from discord_sandbox.routing import (
    MISSING_PERMISSIONS,
    SERVER_KEY,
    UNAUTHORIZED,
    UNKNOWN_MEMBER,
    Ctx,
    RouteSpec,
    err,
    error,
    json_response,
)
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
# real X-RateLimit-* headers for the governor to learn from. A route may declare Discord's own tighter
# default (``@route(..., rate_limit=...)``); ``state.rate_limits`` overrides either.
DEFAULT_ROUTE_LIMIT = 100
DEFAULT_ROUTE_WINDOW = 1.0


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
        self.gateway = FakeGateway(self)
        self._release_hung: asyncio.Event | None = None  # set (then replaced) to end hung responses

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
        self._release_hung = asyncio.Event()
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
        self.call(self._end_hung_responses())
        self.call(self.gateway.close_all(code=1001))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def call(self, coro: Awaitable, timeout: float = 10.0) -> Any:
        """Run a coroutine on the server's loop from the test thread and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def reset(self) -> None:
        self.call(self._end_hung_responses())
        self.call(self.gateway.close_all(code=1001))
        self.state.reset()
        self.gateway.reset()

    async def _end_hung_responses(self) -> None:
        released, self._release_hung = self._release_hung, asyncio.Event()
        released.set()

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
        response = await self._respond(ctx, spec, recorded)
        recorded.status = 0 if response is None else response.status
        recorded.done = True
        if response is None:
            # Close the connection with nothing written: the client sees a reset, not an answer.
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=502)
        if response.status in (401, 403) or (
            response.status == 429 and response.headers.get("X-RateLimit-Scope") != "shared"
        ):
            with state.lock:
                state.invalid_requests += 1
        return response

    async def _respond(self, ctx: Ctx, spec: RouteSpec, recorded: RecordedRequest) -> web.Response | None:
        """The response, or None to drop the connection unanswered."""
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
        failure = state.take_failure(spec.method, spec.template, recorded)
        if failure is not None and not failure.after_work:
            ends, answer = await self._inject(failure, key)
            if ends:
                return answer

        with state.lock:
            limit, window_seconds = spec.rate_limit or (DEFAULT_ROUTE_LIMIT, DEFAULT_ROUTE_WINDOW)
            rule = state.rate_limits.get(key) or RateLimitRule(
                limit=limit, window=window_seconds, bucket=_hash(key)
            )
            now = time.time()
            # Discord counts a bucket per token as well as per major parameter: two users' bearer tokens
            # never share a window.
            window_key = (rule.bucket, _major_key(ctx.params) + "|" + auth)
            window = state.bucket_windows.get(window_key)
            if window is None or window.reset_at <= now:
                window = state.bucket_windows[window_key] = BucketWindow(
                    remaining=rule.limit, reset_at=now + rule.window
                )
            if window.remaining <= 0:
                state.ratelimit_hits[rule.bucket] = state.ratelimit_hits.get(rule.bucket, 0) + 1
                limited_key = (rule.bucket, window_key[1], window.reset_at)
                state.limited_windows[limited_key] = state.limited_windows.get(limited_key, 0) + 1
                limited = _rate_limit_429(window.reset_at - now, is_global=False, scope="user")
                limited.headers.update(_limit_headers(rule, window, now))
                return limited
            window.remaining -= 1
            headers = _limit_headers(rule, window, now)

        response = await spec.handler(ctx)
        recorded.handled = True
        response.headers.update(headers)
        if failure is not None and failure.after_work:
            ends, answer = await self._inject(failure, key)
            if ends:
                return answer
        return response

    async def _inject(self, failure: InjectedFailure, key: str) -> tuple[bool, web.Response | None]:
        """Whether the failure ends the request, and its answer (None: the connection is dropped)."""
        if failure.hang and not await self._hang(failure.hang):
            return True, None
        if failure.disconnect:
            return True, None
        if failure.status is not None:
            return True, self._failure_response(failure, key)
        return False, None

    async def _hang(self, seconds: float) -> bool:
        """Hold a response ``seconds``; False when a reset released it first (the request is then dropped)."""
        released = self._release_hung
        try:
            await asyncio.wait_for(released.wait(), seconds)
        except TimeoutError:
            return True
        return False

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
        if failure.route.startswith("/oauth2/token") and failure.status < 500:
            # The token endpoints answer in OAuth's shape (RFC 6749), not Discord's {"message", "code"}.
            oauth_errors = {401: "invalid_client", 400: "invalid_request", 403: "unauthorized_client"}
            description = {"error": oauth_errors.get(failure.status, "invalid_request")}
            return json_response(description, status=failure.status)
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

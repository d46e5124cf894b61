"""The sandbox as a program: the fake Discord plus the guild view, served on a fixed port in the foreground.

``python -m discord_sandbox`` (``__main__.py``) runs it; ``make run`` starts it when no Discord application
is configured. The tests' ``FakeDiscordServer`` is the same server without the guild view and on a random
port; ``SandboxServer().start()`` serves both from a thread, for the sandbox's own tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from aiohttp import web

from discord_sandbox.server import FakeDiscordServer
from discord_sandbox.state import INTERACTION_TOKEN_LIFETIME
from discord_sandbox.web import add_guild_view

# A sandbox runs for days: keep what tests inspect (recorded requests, replayable gateway events, interaction
# tokens) bounded, since no test resets the state between runs.
KEEP_REQUESTS = 2000
KEEP_GATEWAY_EVENTS = 1000
HOUSEKEEPING_SECONDS = 30.0
SHUTDOWN_GRACE_SECONDS = 3.0


class SandboxServer(FakeDiscordServer):
    """The fake Discord with the guild view mounted."""

    def build_app(self) -> web.Application:
        app = super().build_app()
        add_guild_view(app, self)
        return app

    def serve(self, *, port: int) -> None:
        """Serve on 127.0.0.1:``port`` until SIGINT or SIGTERM."""
        self.port = port
        app = self.build_app()
        app.on_startup.append(self._start_housekeeping)
        app.on_shutdown.append(self._close_gateway)
        web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, shutdown_timeout=5)

    async def _start_housekeeping(self, app: web.Application) -> None:
        self.loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(self._housekeeping())
        app.on_cleanup.append(lambda _app: _cancel(task))

    async def _close_gateway(self, app: web.Application) -> None:
        # Ctrl-C reaches the bot too: let it leave first rather than see the gateway drop and reconnect.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SHUTDOWN_GRACE_SECONDS
        while self._bot_connected() and loop.time() < deadline:
            await asyncio.sleep(0.1)
        await self.gateway.close_all(code=1001)

    def _bot_connected(self) -> bool:
        return any(s.ws is not None and not s.ws.closed for s in self.gateway.sessions.values())

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(HOUSEKEEPING_SECONDS)
            self.trim()

    def trim(self) -> None:
        """Forget old requests, expired interactions and gateway events too old to be resumed."""
        state = self.state
        with state.lock:
            del state.requests[:-KEEP_REQUESTS]
            expired = time.time() - INTERACTION_TOKEN_LIFETIME
            for token in [t for t, i in state.interactions.items() if i.created_at < expired]:
                del state.interactions[token]
        for session in self.gateway.sessions.values():
            del session.events[:-KEEP_GATEWAY_EVENTS]


async def _cancel(task: asyncio.Task) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

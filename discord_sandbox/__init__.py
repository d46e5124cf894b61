"""A fake Discord (REST API v10 + gateway) served on 127.0.0.1, in place of discord.com: one implementation
for the test suite (``pytest_plugin``) and the ``make run`` sandbox alike. Never used in production.

It depends on the standard library and aiohttp only (nextcord just to point nextcord at it), never on the
project's apps, so the same server can stand in for Discord wherever the project runs. See README.md.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

from discord_sandbox.server import FakeDiscordServer
from discord_sandbox.state import (
    APPLICATION_ID,
    BOT_ROLE_ID,
    BOT_TOKEN,
    CLIENT_SECRET,
    DEFAULT_CHANNEL_ID,
    GUILD_ID,
    FakeDiscordState,
    RecordedRequest,
)

__all__ = [
    "APPLICATION_ID",
    "BOT_ROLE_ID",
    "BOT_TOKEN",
    "CLIENT_SECRET",
    "DEFAULT_CHANNEL_ID",
    "GUILD_ID",
    "FakeDiscord",
    "FakeDiscordServer",
    "FakeDiscordState",
    "RecordedRequest",
    "nextcord_pointed_at",
]


@contextlib.contextmanager
def nextcord_pointed_at(base_url: str) -> Iterator[None]:
    """Send every nextcord REST call (and interaction callback/webhook) to ``base_url`` while inside.

    ``nextcord.http.Route`` builds its URL from the class attribute ``BASE`` in ``__init__``; nextcord has no
    constructor option for it (DISCORD_NOTES §2.4).
    """
    from nextcord.http import Route

    previous = Route.BASE
    Route.BASE = base_url
    try:
        yield
    finally:
        Route.BASE = previous


class FakeDiscord:
    """What the ``fake_discord`` fixture yields: the server's addresses, its state, and test controls.

    Unknown attributes are read from and written to the state, so ``fake_discord.add_user(...)``,
    ``fake_discord.requests_to(...)``, ``fake_discord.oauth_deny = True`` all work.
    """

    def __init__(self, server: FakeDiscordServer) -> None:
        self.server = server
        self.state = server.state

    def __getattr__(self, name: str) -> Any:
        return getattr(self.state, name)

    def __setattr__(self, name: str, value: Any) -> None:
        # ``fake_discord.oauth_deny = True`` must reach the state the server reads.
        if name in ("server", "state"):
            object.__setattr__(self, name, value)
        else:
            setattr(self.state, name, value)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def origin(self) -> str:
        return self.server.origin

    @property
    def ws_url(self) -> str:
        return self.server.ws_url

    @property
    def gateway(self):
        return self.server.gateway

    # --- gateway controls ------------------------------------------------------------------------
    def push_event(self, event: str, data: dict) -> int:
        """Dispatch a gateway event to every identified session; returns how many sessions got it."""
        return self.server.call(self.server.gateway.dispatch(event, data))

    def push_interaction(self, **kwargs: Any) -> dict:
        """Create a real-shaped interaction (see ``FakeDiscordState.create_interaction``) and dispatch it."""
        payload = self.state.create_interaction(**kwargs)
        self.push_event("INTERACTION_CREATE", payload)
        return payload

    def drop_gateway(self, code: int = 4000) -> None:
        """Close live gateway sockets with a resumable code; the client should RESUME."""
        self.server.call(self.server.gateway.drop(code))

    def invalidate_gateway_sessions(self) -> None:
        """Drop sockets and forget sessions: a RESUME then gets INVALID_SESSION and must re-IDENTIFY."""
        self.server.call(self.server.gateway.invalidate())

    def send_reconnect(self) -> int:
        """Send RECONNECT (op 7) on live gateway connections: the client should reconnect and RESUME."""
        return self.server.call(self.server.gateway.request_reconnect())

    def send_invalid_session(self, *, resumable: bool) -> int:
        """Send INVALID_SESSION (op 9) with d=``resumable``: RESUME if true, IDENTIFY again if false."""
        return self.server.call(self.server.gateway.invalidate_session(resumable=resumable))

    def zombie_gateway(self) -> int:
        """Make live connections zombies: no HEARTBEAT_ACK, no dispatch. The client must close and RESUME."""
        return self.server.call(self.server.gateway.zombify())

    # --- waiting --------------------------------------------------------------------------------
    @staticmethod
    def wait_until(predicate: Callable[[], Any], *, timeout: float = 5.0, interval: float = 0.01) -> Any:
        """Poll ``predicate`` until it returns something truthy (from a sync test); fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout} s")
            time.sleep(interval)

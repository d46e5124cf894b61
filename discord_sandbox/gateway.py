"""The fake Discord gateway: HELLO → IDENTIFY → READY + GUILD_CREATE, heartbeats, RESUME, test-pushed events.

JSON text frames only, never zlib: nextcord inflates only binary frames (``nextcord/gateway.py``
``received_message``), so a text frame is accepted even though it asks for ``compress=zlib-stream``.
Dispatches are numbered per session and kept, so a RESUME replays exactly the events after the client's
last sequence number, as Discord does.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from discord_sandbox.server import FakeDiscordServer

DISPATCH, HEARTBEAT, IDENTIFY, RESUME, RECONNECT, INVALID_SESSION, HELLO, HEARTBEAT_ACK = (
    0,
    1,
    2,
    6,
    7,
    9,
    10,
    11,
)
AUTHENTICATION_FAILED = 4004
HEARTBEAT_INTERVAL_MS = 1000  # short so tests see heartbeats; nextcord sends one at once after HELLO too


@dataclass
class GatewaySession:
    """One identified session: its sequence counter, the events sent so far, and its live socket if any."""

    id: str
    identify: dict
    seq: int = 0
    events: list[dict] = field(default_factory=list)
    ws: web.WebSocketResponse | None = None
    resumed: int = 0


class FakeGateway:
    def __init__(self, server: FakeDiscordServer) -> None:
        self.server = server
        self.reset()

    def reset(self) -> None:
        self.sessions: dict[str, GatewaySession] = {}
        self.identifies: list[dict] = []  # every IDENTIFY's d (token, intents, shard, properties)
        self.resumes: list[dict] = []  # every RESUME's d
        self.heartbeats = 0
        self.received: list[dict] = []  # every frame a client sent
        self.connections = 0

    # --- test controls (call through FakeDiscord, which hops onto the server loop) -------------------
    async def dispatch(self, event: str, data: dict) -> int:
        """Send a dispatch to every identified session (buffered while a session is disconnected)."""
        sent = 0
        for session in list(self.sessions.values()):
            await self._send_dispatch(session, event, data)
            sent += 1
        return sent

    def dispatch_nowait(self, event: str, data: dict) -> None:
        """Schedule a dispatch from a REST handler running on the server loop."""
        if self.sessions:
            asyncio.get_running_loop().create_task(self.dispatch(event, data))

    async def drop(self, code: int = 4000) -> None:
        """Close every live socket with ``code`` but keep the sessions resumable (4000 = unknown error)."""
        for session in self.sessions.values():
            if session.ws is not None and not session.ws.closed:
                ws, session.ws = session.ws, None
                await ws.close(code=code, message=b"fake gateway dropped the connection")

    async def close_all(self, code: int = 1001) -> None:
        await self.drop(code)

    async def invalidate(self) -> None:
        """Forget every session so the next RESUME gets INVALID_SESSION(false) and re-identifies."""
        await self.drop(4000)
        self.sessions.clear()

    # --- protocol -------------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.connections += 1
        await self._send(
            ws,
            {
                "op": HELLO,
                "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS, "_trace": ["fake-gateway"]},
                "s": None,
                "t": None,
            },
        )
        async for frame in ws:
            if frame.type != WSMsgType.TEXT:
                continue
            message = json.loads(frame.data)
            self.received.append(message)
            op, data = message.get("op"), message.get("d")
            if op == HEARTBEAT:
                self.heartbeats += 1
                await self._send(ws, {"op": HEARTBEAT_ACK, "d": None, "s": None, "t": None})
            elif op == IDENTIFY:
                await self._identify(ws, data)
            elif op == RESUME:
                await self._resume(ws, data)
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: dict) -> None:
        state = self.server.state
        self.identifies.append(data)
        if data.get("token") not in (state.bot_token, f"Bot {state.bot_token}"):
            await ws.close(code=AUTHENTICATION_FAILED, message=b"Authentication failed.")
            return
        session = GatewaySession(id=secrets.token_hex(16), identify=data, ws=ws)
        self.sessions[session.id] = session
        with state.lock:
            guild_ids = [gid for gid in state.guilds if state.bot_user["id"] in state.members[gid]]
            ready = {
                "v": 10,
                "user": state.bot_user,
                "guilds": [{"id": gid, "unavailable": True} for gid in guild_ids],
                "session_id": session.id,
                "session_type": "normal",
                "resume_gateway_url": self.server.ws_url,
                "shard": data.get("shard", [0, 1]),
                "application": {"id": state.application_id, "flags": state.application_flags},
                "private_channels": [],
                "relationships": [],
                "presences": [],
                "guild_join_requests": [],
                "user_settings": {},
                "geo_ordered_rtc_regions": [],
                "_trace": ["fake-gateway"],
            }
            guilds = [state.guild_payload(gid, full=True) for gid in guild_ids]
        await self._send_dispatch(session, "READY", ready)
        for guild in guilds:
            await self._send_dispatch(session, "GUILD_CREATE", guild)

    async def _resume(self, ws: web.WebSocketResponse, data: dict) -> None:
        self.resumes.append(data)
        session = self.sessions.get(data.get("session_id", ""))
        if session is None or data.get("token") not in (
            self.server.state.bot_token,
            f"Bot {self.server.state.bot_token}",
        ):
            await self._send(ws, {"op": INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        session.ws = ws
        session.resumed += 1
        last_seen = data.get("seq") or 0
        for event in session.events:
            if event["s"] > last_seen:
                await self._send(ws, event)
        await self._send_dispatch(session, "RESUMED", {"_trace": ["fake-gateway"]})

    async def _send_dispatch(self, session: GatewaySession, event: str, data: Any) -> None:
        session.seq += 1
        frame = {"op": DISPATCH, "d": data, "s": session.seq, "t": event}
        session.events.append(frame)
        if session.ws is not None and not session.ws.closed:
            await self._send(session.ws, frame)

    @staticmethod
    async def _send(ws: web.WebSocketResponse, frame: dict) -> None:
        if not ws.closed:
            await ws.send_str(json.dumps(frame))

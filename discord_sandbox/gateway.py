"""The fake Discord gateway: HELLO → IDENTIFY → READY + GUILD_CREATE, heartbeats, RESUME, test-pushed events.

JSON text frames only, never zlib: nextcord inflates only binary frames (``nextcord/gateway.py``
``received_message``), so a text frame is accepted even though it asks for ``compress=zlib-stream``.
Dispatches are numbered per session and kept, so a RESUME replays exactly the events after the client's
last sequence number, as Discord does.

Discord's rules it enforces (``developers/events/gateway.mdx``): IDENTIFY at most ``max_concurrency`` per
5 s per rate-limit bucket (``shard_id % max_concurrency``; more get INVALID_SESSION(false)); at most 120
payloads per connection per 60 s (more: close 4008); a privileged intent the app lacks closes 4014; a client
closing with 1000 or 1001 ends its session. Test controls send RECONNECT (op 7), INVALID_SESSION (op 9,
resumable or not) and zombie a connection (no more HEARTBEAT_ACKs or dispatches: the client must notice,
close and RESUME).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import weakref
from collections import deque
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
RATE_LIMITED = 4008
DISALLOWED_INTENTS = 4014
SESSION_ENDING_CLOSES = (1000, 1001)
GUILD_MEMBERS_INTENT = 1 << 1
HEARTBEAT_INTERVAL_MS = 1000  # short so tests see heartbeats; nextcord sends one at once after HELLO too
IDENTIFY_INTERVAL = 5.0  # max_concurrency IDENTIFYs per bucket per 5 s
PAYLOADS_PER_MINUTE = 120


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
        # Kept across resets: a socket closed by the last test's reset may finish closing after it.
        self._server_closed: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
        self.reset()

    def reset(self) -> None:
        self.sessions: dict[str, GatewaySession] = {}
        self.identifies: list[dict] = []  # every IDENTIFY's d (token, intents, shard, properties)
        self.refused_identifies: list[dict] = []  # those answered INVALID_SESSION for the IDENTIFY rate
        self.resumes: list[dict] = []  # every RESUME's d
        self.heartbeats = 0
        self.received: list[dict] = []  # every frame a client sent
        self.connections = 0
        self.max_concurrency = 1  # what /gateway/bot announces and IDENTIFY is held to
        self.last_identify: dict[int, float] = {}  # rate-limit bucket -> when its last IDENTIFY was let in
        self.zombies: set[web.WebSocketResponse] = set()  # connections that get no ACKs and no dispatches
        self.closes: list[int | None] = []  # the close code of every connection a client ended

    # --- test controls (call through FakeDiscord, which hops onto the server loop) -------------------
    async def dispatch(self, event: str, data: dict) -> int:
        """Send a dispatch to every identified session (buffered while a session is disconnected)."""
        if event == "INTERACTION_CREATE":
            self.server.state.interaction_dispatched(data)
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
                await self._close(ws, code, b"fake gateway dropped the connection")

    async def close_all(self, code: int = 1001) -> None:
        await self.drop(code)

    async def invalidate(self) -> None:
        """Forget every session so the next RESUME gets INVALID_SESSION(false) and re-identifies."""
        await self.drop(4000)
        self.sessions.clear()

    async def request_reconnect(self) -> int:
        """Send RECONNECT (op 7) on every live connection; the client should reconnect and RESUME."""
        return await self._send_to_live({"op": RECONNECT, "d": None, "s": None, "t": None})

    async def invalidate_session(self, *, resumable: bool) -> int:
        """Send INVALID_SESSION (op 9): ``resumable`` (d=true) keeps the sessions for a RESUME, d=false ends
        them so the client must IDENTIFY again."""
        sent = await self._send_to_live({"op": INVALID_SESSION, "d": resumable, "s": None, "t": None})
        if not resumable:
            self.sessions.clear()
        return sent

    async def zombify(self) -> int:
        """Stop answering heartbeats and sending dispatches on every live connection (kept for a RESUME)."""
        live = [s.ws for s in self.sessions.values() if s.ws is not None and not s.ws.closed]
        self.zombies.update(live)
        return len(live)

    async def _send_to_live(self, frame: dict) -> int:
        sent = 0
        for session in list(self.sessions.values()):
            if session.ws is not None and not session.ws.closed:
                await self._send(session.ws, frame)
                sent += 1
        return sent

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
        sent_at: deque[float] = deque()
        async for frame in ws:
            if frame.type != WSMsgType.TEXT:
                continue
            message = json.loads(frame.data)
            self.received.append(message)
            now = time.monotonic()
            sent_at.append(now)
            while sent_at and sent_at[0] <= now - 60:
                sent_at.popleft()
            if len(sent_at) > PAYLOADS_PER_MINUTE:
                await self._close(ws, RATE_LIMITED, b"You are being rate limited.")
                break
            op, data = message.get("op"), message.get("d")
            if op == HEARTBEAT:
                self.heartbeats += 1
                if ws not in self.zombies:
                    await self._send(ws, {"op": HEARTBEAT_ACK, "d": None, "s": None, "t": None})
            elif op == IDENTIFY:
                await self._identify(ws, data)
            elif op == RESUME:
                await self._resume(ws, data)
        self._closed_by_client(ws)
        return ws

    async def _close(self, ws: web.WebSocketResponse, code: int, message: bytes) -> None:
        self._server_closed.add(ws)
        await ws.close(code=code, message=message)

    def _closed_by_client(self, ws: web.WebSocketResponse) -> None:
        self.zombies.discard(ws)
        if ws in self._server_closed:
            self._server_closed.discard(ws)
            return
        self.closes.append(ws.close_code)
        for session_id, session in list(self.sessions.items()):
            if session.ws is ws:
                session.ws = None
                # gateway.mdx "Initiating a Disconnect": closing with 1000 or 1001 invalidates the session.
                if ws.close_code in SESSION_ENDING_CLOSES:
                    del self.sessions[session_id]

    async def _identify(self, ws: web.WebSocketResponse, data: dict) -> None:
        state = self.server.state
        self.identifies.append(data)
        if data.get("token") not in (state.bot_token, f"Bot {state.bot_token}"):
            await self._close(ws, AUTHENTICATION_FAILED, b"Authentication failed.")
            return
        if (data.get("intents") or 0) & GUILD_MEMBERS_INTENT and not state.guild_members_intent:
            await self._close(ws, DISALLOWED_INTENTS, b"Disallowed intent(s).")
            return
        shard_id = (data.get("shard") or [0, 1])[0]
        bucket = shard_id % self.max_concurrency
        now = state.now()
        if now - self.last_identify.get(bucket, float("-inf")) < IDENTIFY_INTERVAL:
            self.refused_identifies.append(data)
            await self._send(ws, {"op": INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        self.last_identify[bucket] = now
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
        if session.ws is not None and not session.ws.closed and session.ws not in self.zombies:
            await self._send(session.ws, frame)

    @staticmethod
    async def _send(ws: web.WebSocketResponse, frame: dict) -> None:
        if not ws.closed:
            await ws.send_str(json.dumps(frame))

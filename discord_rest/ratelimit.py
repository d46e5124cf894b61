"""The Discord rate-limit governor shared by every process that calls Discord with our bot token.

Discord limits per route bucket and globally (50 requests/s per bot), and bans an IP for a while after 10,000
invalid requests (401/403/429) in 10 minutes (discord-api-docs ``developers/topics/rate-limits.mdx``). The
web, Celery workers, management commands and the bot all spend the same budgets, so the state lives in
Redis and every check-and-consume is one Lua script; without Redis (``make run``) an in-process store with
the same rules stands in.

What it keeps:
- per-route buckets learned from ``X-RateLimit-*`` headers, keyed like Discord's: the route's bucket hash
  (``X-RateLimit-Bucket``, learned per route template, so routes that share a bucket migrate onto it) plus
  the major parameter (guild, channel, webhook id); a request waits while its bucket has ``remaining == 0``;
  a route seen for the first time lets one request through to learn its limits;
- the global limit as a sliding one-second window per token (interaction callbacks and webhooks are
  exempt, as on Discord), and a global pause for everybody after a global 429;
- the invalid requests of the last 10 minutes; at ``DISCORD_INVALID_REQUEST_CEILING`` non-essential calls
  are refused locally (``DiscordInvalidRequestLimit``) and an error is logged.

The nextcord bot keeps its own per-route handling and joins the shared global limit and invalid-request
accounting through ``install_on_nextcord`` (see its docstring).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from django.conf import settings

from discord_rest.errors import DiscordInvalidRequestLimit, DiscordRateLimited

logger = structlog.get_logger(__name__)

KEY_PREFIX = "discord:rl"
# A sliding window a little longer than Discord's second absorbs the jitter between our clock and when a
# request reaches Discord, so a full window on our side never spills over into one of theirs.
GLOBAL_WINDOW_SECONDS = 1.05
# How long the first request of an unknown bucket may take before others stop waiting for its headers.
DISCOVERY_TIMEOUT_SECONDS = 5.0
DISCOVERY_POLL_SECONDS = 0.02
# Discord resets a bucket on its clock; waiting this much longer avoids arriving a hair early.
RESET_MARGIN_SECONDS = 0.05
INVALID_WINDOW_MINUTES = 10
INVALID_STATUSES = frozenset({401, 403, 429})
MAJOR_RESOURCES = ("guilds", "channels", "webhooks", "interactions")
# Routes answered for an interaction token are "not bound to the bot's Global Rate Limit".
GLOBAL_EXEMPT_RESOURCES = ("interactions", "webhooks")


@dataclass(frozen=True)
class RouteKey:
    """A request's rate-limit identity: ``template`` has every id replaced, ``major`` keeps the top resource."""

    method: str
    template: str
    major: str

    @property
    def name(self) -> str:
        return f"{self.method} {self.template}"

    @property
    def global_exempt(self) -> bool:
        return self.template.split("/")[1] in GLOBAL_EXEMPT_RESOURCES


def route_key(method: str, path: str) -> RouteKey:
    """Turn ``PUT /guilds/1/members/2/roles/3`` into the bucket identity Discord uses for it."""
    segments = path.split("?", 1)[0].strip("/").split("/")
    template, major = [], []
    for index, segment in enumerate(segments):
        previous = segments[index - 1] if index else ""
        is_top_id = index == 1 and previous in MAJOR_RESOURCES
        is_token = index == 2 and segments[0] in ("webhooks", "interactions")
        if is_top_id or is_token:
            # The major is logged and named in Redis keys; an interaction or webhook token is a credential, so
            # only a hash of it goes there (still one bucket per token, as on Discord).
            major.append(_token_digest(segment) if is_token else segment)
            template.append("{major}")
        elif segment.isdigit():
            template.append("{id}")
        else:
            template.append(segment)
    prefix = f"{segments[0]}/" if major else ""
    return RouteKey(method.upper(), "/" + "/".join(template), prefix + "/".join(major))


def _token_digest(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()[:16]


def identity_for(authorization: str | None) -> str:
    """A stable, non-secret name for the token a request is made with (limits are per bot or user)."""
    if not authorization:
        return "anonymous"
    kind = authorization.split(" ", 1)[0].lower()
    return f"{kind}:{hashlib.sha256(authorization.encode()).hexdigest()[:16]}"


@dataclass(frozen=True)
class Reservation:
    """The answer of a store: ``ok`` (go), or the reason to wait and for how long."""

    reason: str  # "ok", "bucket", "discovery", "global", "global_pause"
    wait: float


# --- stores -----------------------------------------------------------------------------------------
_RESERVE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local prefix, identity, route, major = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local use_global, global_limit, global_window = ARGV[5] == '1', tonumber(ARGV[6]), tonumber(ARGV[7])
local discovery_timeout = tonumber(ARGV[8])

local pause = tonumber(redis.call('GET', prefix .. ':gpause:' .. identity) or '0')
if pause > now then return {'global_pause', tostring(pause - now)} end

local hash = redis.call('GET', prefix .. ':route:' .. identity .. ':' .. route)
local bkey = prefix .. ':bucket:' .. identity .. ':' .. (hash or ('route:' .. route)) .. ':' .. major
local b = redis.call('HMGET', bkey, 'limit', 'remaining', 'reset_at', 'pending')
local limit, remaining, reset_at, pending = tonumber(b[1]), tonumber(b[2]), tonumber(b[3]), b[4] == '1'
if not limit or reset_at <= now then
  -- Unknown (or lapsed) bucket: let requests through up to the last known limit (1 when never seen)
  -- until a response tells the real window.
  limit = limit or 1
  remaining, reset_at, pending = limit, now + discovery_timeout, true
end
if remaining <= 0 then
  return {pending and 'discovery' or 'bucket', tostring(reset_at - now)}
end

local gkey = prefix .. ':global:' .. identity
if use_global then
  redis.call('ZREMRANGEBYSCORE', gkey, '-inf', now - global_window)
  if redis.call('ZCARD', gkey) >= global_limit then
    local oldest = redis.call('ZRANGE', gkey, 0, 0, 'WITHSCORES')
    return {'global', tostring(tonumber(oldest[2]) + global_window - now)}
  end
end

redis.call('HSET', bkey, 'limit', limit, 'remaining', remaining - 1, 'reset_at', reset_at,
           'pending', pending and '1' or '0')
redis.call('PEXPIRE', bkey, math.ceil((reset_at - now + 60) * 1000))
if use_global then
  redis.call('ZADD', gkey, now, tostring(now) .. ':' .. redis.call('INCR', gkey .. ':seq'))
  redis.call('PEXPIRE', gkey, math.ceil(global_window * 2000))
  redis.call('PEXPIRE', gkey .. ':seq', math.ceil(global_window * 2000))
end
return {'ok', '0'}
"""

_LEARN_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local prefix, identity, route, major = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local bucket_hash, limit, remaining, reset_after = ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local margin = tonumber(ARGV[9])

local route_map = prefix .. ':route:' .. identity .. ':' .. route
local old_hash = redis.call('GET', route_map)
if bucket_hash ~= '' then
  if old_hash ~= bucket_hash then
    -- Migration: the route's requests now share the bucket Discord named; drop the provisional state.
    redis.call('DEL', prefix .. ':bucket:' .. identity .. ':' .. (old_hash or ('route:' .. route)) .. ':' .. major)
    redis.call('SET', route_map, bucket_hash, 'EX', 86400)
  else
    redis.call('EXPIRE', route_map, 86400)
  end
end
local hash = redis.call('GET', route_map)
local bkey = prefix .. ':bucket:' .. identity .. ':' .. (hash or ('route:' .. route)) .. ':' .. major

if not limit then
  -- No rate-limit headers (network error, an edge 5xx): free a pending discovery slot for the next caller.
  if redis.call('HGET', bkey, 'pending') == '1' then redis.call('HINCRBY', bkey, 'remaining', 1) end
  return 0
end

local reset_at = now + reset_after + margin
local b = redis.call('HMGET', bkey, 'limit', 'remaining', 'reset_at', 'pending')
local known_limit, known_remaining, known_reset = tonumber(b[1]), tonumber(b[2]), tonumber(b[3])
if known_remaining and b[4] == '1' then
  -- A new window we let requests into before knowing it: all of them count against it, answered or not.
  remaining = math.min(remaining, limit - (known_limit - known_remaining))
elseif known_remaining and known_reset and math.abs(known_reset - reset_at) < 1 then
  -- Same window, answers arriving out of order: keep the lower count, it already includes the
  -- reservations of requests still in flight.
  remaining = math.min(remaining, known_remaining)
end
redis.call('HSET', bkey, 'limit', limit, 'remaining', remaining, 'reset_at', reset_at, 'pending', '0')
redis.call('PEXPIRE', bkey, math.ceil((reset_after + 60) * 1000))
return 1
"""

_PAUSE_GLOBAL_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local until_ = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > current then
  redis.call('SET', KEYS[1], tostring(until_), 'PX', math.ceil(tonumber(ARGV[1]) * 1000) + 1000)
end
return 1
"""

_INVALID_LUA = """
local t = redis.call('TIME')
local minute = math.floor(tonumber(t[1]) / 60)
local prefix, add, window = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
if add > 0 then
  local key = prefix .. ':invalid:' .. minute
  redis.call('INCRBY', key, add)
  redis.call('EXPIRE', key, (window + 1) * 60)
end
local total = 0
for m = minute - window + 1, minute do
  total = total + tonumber(redis.call('GET', prefix .. ':invalid:' .. m) or '0')
end
return total
"""


class RedisStore:
    """Governor state in Redis; each operation is one Lua script, so processes never interleave inside one."""

    def __init__(self, redis, prefix: str = KEY_PREFIX) -> None:
        self.redis = redis
        self.prefix = prefix
        self._reserve = redis.register_script(_RESERVE_LUA)
        self._learn = redis.register_script(_LEARN_LUA)
        self._pause_global = redis.register_script(_PAUSE_GLOBAL_LUA)
        self._invalid = redis.register_script(_INVALID_LUA)

    def reserve(self, *, identity: str, route: RouteKey, use_global: bool, global_limit: int) -> Reservation:
        reason, wait = self._reserve(
            args=[
                self.prefix,
                identity,
                route.name,
                route.major,
                "1" if use_global else "0",
                global_limit,
                GLOBAL_WINDOW_SECONDS,
                DISCOVERY_TIMEOUT_SECONDS,
            ]
        )
        return Reservation(reason.decode() if isinstance(reason, bytes) else reason, float(wait))

    def learn(
        self,
        *,
        identity: str,
        route: RouteKey,
        bucket: str,
        limit: int | None,
        remaining: int | None,
        reset_after: float | None,
    ) -> None:
        self._learn(
            args=[
                self.prefix,
                identity,
                route.name,
                route.major,
                bucket,
                "" if limit is None else limit,
                "" if remaining is None else remaining,
                "" if reset_after is None else reset_after,
                RESET_MARGIN_SECONDS,
            ]
        )

    def pause_global(self, *, identity: str, seconds: float) -> None:
        self._pause_global(keys=[f"{self.prefix}:gpause:{identity}"], args=[seconds])

    def invalid_requests(self, *, add: int = 0) -> int:
        return int(self._invalid(args=[self.prefix, add, INVALID_WINDOW_MINUTES]))


@dataclass
class _Bucket:
    limit: int
    remaining: int
    reset_at: float
    pending: bool


class MemoryStore:
    """The same rules as ``RedisStore`` for one process, when there is no Redis (``make run``)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._routes: dict[tuple[str, str], str] = {}
        self._buckets: dict[tuple[str, str, str], _Bucket] = {}
        self._global: dict[str, list[float]] = {}
        self._pauses: dict[str, float] = {}
        self._invalid: dict[int, int] = {}

    def _bucket_key(self, identity: str, route: RouteKey) -> tuple[str, str, str]:
        bucket = self._routes.get((identity, route.name)) or f"route:{route.name}"
        return identity, bucket, route.major

    def reserve(self, *, identity: str, route: RouteKey, use_global: bool, global_limit: int) -> Reservation:
        with self._lock:
            now = self.clock()
            pause = self._pauses.get(identity, 0.0)
            if pause > now:
                return Reservation("global_pause", pause - now)
            key = self._bucket_key(identity, route)
            bucket = self._buckets.get(key)
            if bucket is None or bucket.reset_at <= now:
                limit = bucket.limit if bucket else 1
                bucket = _Bucket(limit, limit, now + DISCOVERY_TIMEOUT_SECONDS, True)
            if bucket.remaining <= 0:
                return Reservation("discovery" if bucket.pending else "bucket", bucket.reset_at - now)
            sent = self._global.setdefault(identity, [])
            if use_global:
                sent[:] = [t for t in sent if t > now - GLOBAL_WINDOW_SECONDS]
                if len(sent) >= global_limit:
                    return Reservation("global", sent[0] + GLOBAL_WINDOW_SECONDS - now)
                sent.append(now)
            bucket.remaining -= 1
            self._buckets[key] = bucket
            return Reservation("ok", 0.0)

    def learn(
        self,
        *,
        identity: str,
        route: RouteKey,
        bucket: str,
        limit: int | None,
        remaining: int | None,
        reset_after: float | None,
    ) -> None:
        with self._lock:
            now = self.clock()
            if bucket and self._routes.get((identity, route.name)) != bucket:
                self._buckets.pop(self._bucket_key(identity, route), None)
                self._routes[(identity, route.name)] = bucket
            key = self._bucket_key(identity, route)
            known = self._buckets.get(key)
            if limit is None or remaining is None or reset_after is None:
                if known is not None and known.pending:
                    known.remaining += 1
                return
            reset_at = now + reset_after + RESET_MARGIN_SECONDS
            if known is not None and known.pending:
                remaining = min(remaining, limit - (known.limit - known.remaining))
            elif known is not None and abs(known.reset_at - reset_at) < 1:
                remaining = min(remaining, known.remaining)
            self._buckets[key] = _Bucket(limit, remaining, reset_at, False)

    def pause_global(self, *, identity: str, seconds: float) -> None:
        with self._lock:
            until = self.clock() + seconds
            self._pauses[identity] = max(self._pauses.get(identity, 0.0), until)

    def invalid_requests(self, *, add: int = 0) -> int:
        with self._lock:
            minute = int(self.clock() // 60)
            if add:
                self._invalid[minute] = self._invalid.get(minute, 0) + add
            for old in [m for m in self._invalid if m <= minute - INVALID_WINDOW_MINUTES]:
                del self._invalid[old]
            return sum(self._invalid.values())


# --- the governor ------------------------------------------------------------------------------------
def _header_float(headers: Mapping[str, str], name: str) -> float | None:
    value = headers.get(name)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class Governor:
    """Decides when a Discord request may go, and learns from each response. Thread-safe; share one."""

    def __init__(
        self,
        store,
        *,
        global_limit: int | None = None,
        invalid_ceiling: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self._global_limit = global_limit
        self._invalid_ceiling = invalid_ceiling
        self.sleep = sleep
        self._invalid_cache: tuple[float, int] = (0.0, 0)

    @property
    def global_limit(self) -> int:
        return self._global_limit or settings.DISCORD_GLOBAL_RATE_LIMIT

    @property
    def invalid_ceiling(self) -> int:
        return self._invalid_ceiling or settings.DISCORD_INVALID_REQUEST_CEILING

    # --- before a request
    def check_invalid_budget(self, *, essential: bool) -> None:
        """Raise DiscordInvalidRequestLimit for a non-essential call once the invalid-request ceiling is hit."""
        if essential:
            return
        checked_at, count = self._invalid_cache
        if time.monotonic() - checked_at > 1.0:
            count = self.store.invalid_requests()
            self._invalid_cache = (time.monotonic(), count)
        if count >= self.invalid_ceiling:
            logger.error(
                "discord_invalid_request_ceiling_reached",
                invalid_requests=count,
                ceiling=self.invalid_ceiling,
            )
            raise DiscordInvalidRequestLimit(
                "Too many invalid Discord requests in the last 10 minutes; non-essential calls are paused",
                retry_after=60.0,
            )

    def reserve(self, route: RouteKey, *, identity: str) -> Reservation:
        """One non-blocking try: consume the bucket and global slots, or say how long to wait."""
        return self.store.reserve(
            identity=identity,
            route=route,
            use_global=not route.global_exempt and identity.startswith("bot:"),
            global_limit=self.global_limit,
        )

    def acquire(
        self,
        route: RouteKey,
        *,
        identity: str,
        essential: bool = True,
        max_wait: float | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        """Block until the request may go; raise DiscordRateLimited rather than wait more than ``max_wait``."""
        sleep = self.sleep if sleep is None else sleep
        self.check_invalid_budget(essential=essential)
        max_wait = settings.DISCORD_MAX_RETRY_AFTER if max_wait is None else max_wait
        while True:
            reservation = self.reserve(route, identity=identity)
            if reservation.reason == "ok":
                return
            sleep(self._pause_for(reservation, route, max_wait))

    async def acquire_async(
        self, route: RouteKey, *, identity: str, essential: bool = True, max_wait: float | None = None
    ) -> None:
        """``acquire`` for an event loop: Redis calls run in a thread, waits are ``asyncio.sleep``."""
        await asyncio.to_thread(self.check_invalid_budget, essential=essential)
        max_wait = settings.DISCORD_MAX_RETRY_AFTER if max_wait is None else max_wait
        while True:
            reservation = await asyncio.to_thread(self.reserve, route, identity=identity)
            if reservation.reason == "ok":
                return
            await asyncio.sleep(self._pause_for(reservation, route, max_wait))

    def _pause_for(self, reservation: Reservation, route: RouteKey, max_wait: float) -> float:
        if reservation.wait > max_wait:
            raise DiscordRateLimited(
                f"{route.name} is rate limited for {reservation.wait:.1f} s",
                retry_after=reservation.wait,
            )
        if reservation.reason == "discovery":
            return min(reservation.wait, DISCOVERY_POLL_SECONDS)
        logger.info(
            "discord_rate_limit_wait",
            route=route.name,
            major=route.major,
            reason=reservation.reason,
            wait=round(reservation.wait, 3),
        )
        return max(reservation.wait, 0.001)

    # --- after a response (or a network failure: status 0, no headers)
    def record_response(
        self,
        route: RouteKey,
        *,
        identity: str,
        status: int,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> None:
        """Learn the bucket from the headers; on 429 pause the bucket or everybody; count invalid requests."""
        headers = headers or {}
        limit = headers.get("X-RateLimit-Limit")
        remaining = headers.get("X-RateLimit-Remaining")
        reset_after = _header_float(headers, "X-RateLimit-Reset-After")
        scope = headers.get("X-RateLimit-Scope")
        is_global = status == 429 and (
            headers.get("X-RateLimit-Global", "").lower() == "true"
            or scope == "global"
            or (isinstance(body, dict) and body.get("global") is True)
        )
        if status == 429:
            retry_after = self.retry_after(headers, body)
            if is_global:
                self.store.pause_global(identity=identity, seconds=retry_after)
            elif limit is None or remaining is None or reset_after is None:
                limit, remaining, reset_after = "1", "0", retry_after
            else:
                remaining, reset_after = "0", max(reset_after, retry_after)
            logger.warning(
                "discord_rate_limited",
                route=route.name,
                major=route.major,
                scope=scope,
                is_global=is_global,
                retry_after=retry_after,
            )
        # A global 429 says nothing about the route's bucket; learning "no limits" still frees the slot a
        # first request of an unknown bucket held.
        if is_global or limit is None or remaining is None or reset_after is None:
            limit = remaining = reset_after = None
        self.store.learn(
            identity=identity,
            route=route,
            bucket=headers.get("X-RateLimit-Bucket", ""),
            limit=int(limit) if limit is not None else None,
            remaining=int(remaining) if remaining is not None else None,
            reset_after=reset_after,
        )
        if status in INVALID_STATUSES and not (status == 429 and scope == "shared"):
            self.record_invalid()

    def record_invalid(self, count: int = 1) -> int:
        """Count invalid requests (401/403/429 not ``shared``) towards the 10-minute ceiling."""
        total = self.store.invalid_requests(add=count)
        self._invalid_cache = (time.monotonic(), total)
        if total >= self.invalid_ceiling:
            logger.error(
                "discord_invalid_request_ceiling_reached",
                invalid_requests=total,
                ceiling=self.invalid_ceiling,
            )
        return total

    def pause_global(self, *, identity: str, seconds: float) -> None:
        """Make every process wait ``seconds`` before its next globally limited request with this token."""
        self.store.pause_global(identity=identity, seconds=seconds)

    def invalid_requests(self) -> int:
        """Invalid requests counted in the last 10 minutes, by every process."""
        return self.store.invalid_requests()

    @staticmethod
    def retry_after(headers: Mapping[str, str], body: Any) -> float:
        """Seconds a 429 asks to wait: the body's float ``retry_after``, else the ``Retry-After`` header."""
        if isinstance(body, dict) and isinstance(body.get("retry_after"), int | float):
            return float(body["retry_after"])
        header = _header_float(headers, "Retry-After")
        return header if header is not None else 1.0


_governor: Governor | None = None
_governor_lock = threading.Lock()


def get_governor() -> Governor:
    """The process's governor: on Redis when ``REDIS_URL`` is set, else in memory."""
    global _governor
    from dealscale.redis_client import get_redis

    redis = get_redis()
    with _governor_lock:
        if _governor is None or not (
            isinstance(_governor.store, RedisStore) and _governor.store.redis is redis
            if redis is not None
            else isinstance(_governor.store, MemoryStore)
        ):
            _governor = Governor(RedisStore(redis) if redis is not None else MemoryStore())
        return _governor


# --- the bot (nextcord) -------------------------------------------------------------------------------
def install_on_nextcord(client, governor: Governor | None = None) -> None:
    """Make a nextcord ``Client``'s REST calls take part in the shared global limit and invalid-request count.

    nextcord keeps its own per-route buckets (in memory, from the same headers) and retries 429s itself,
    so only what processes must share is added: before each request the bot takes a slot of the token's
    global limit in Redis (interaction callbacks and webhooks go through nextcord's webhook adapter, not
    ``client.http.request``, and are exempt anyway); a 401/403 it gets and every 429 nextcord reports through
    ``on_http_ratelimit`` / ``on_global_http_ratelimit`` is counted, and a global 429 pauses every process.
    Call it once after constructing the client, before ``start()``.
    """
    import nextcord
    from nextcord.http import Route

    governor = governor or get_governor()
    http = client.http
    original_request = http.request

    def identity() -> str:
        # nextcord keeps the "Bot <token>" header it sends in a private attribute set at login.
        return identity_for(http._default_auth)

    async def governed_request(route: Route, **kwargs: Any) -> Any:
        path = route.url[len(Route.BASE) :] if route.url.startswith(Route.BASE) else route.path
        key = route_key(route.method, path)
        if not key.global_exempt:
            await governor.acquire_async(key, identity=identity())
        try:
            return await original_request(route, **kwargs)
        except (nextcord.Unauthorized, nextcord.Forbidden):
            await asyncio.to_thread(governor.record_invalid)
            raise

    http.request = governed_request

    async def on_http_ratelimit(limit, remaining, reset_after, bucket, scope) -> None:
        if scope != "shared":
            await asyncio.to_thread(governor.record_invalid)

    async def on_global_http_ratelimit(retry_after: float) -> None:
        await asyncio.to_thread(governor.pause_global, identity=identity(), seconds=float(retry_after))
        await asyncio.to_thread(governor.record_invalid)

    client.add_listener(on_http_ratelimit, "on_http_ratelimit")
    client.add_listener(on_global_http_ratelimit, "on_global_http_ratelimit")

"""In-memory world of the fake Discord: users, guilds, roles, members, messages, commands, OAuth grants.

Tests seed and inspect it from the test thread while the aiohttp server reads and writes it from its own
thread, so every access goes through ``FakeDiscordState.lock``. Shapes follow Discord's API v10 objects
(discord-api-docs ``developers/resources/*.mdx``) closely enough for nextcord to parse them.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

BOT_TOKEN = "fake-bot-token.Bot.Secret"
APPLICATION_ID = "1100000000000000001"  # the client id; Discord's newer apps share it with the bot user id
CLIENT_SECRET = "fake-client-secret"
GUILD_ID = "1200000000000000001"
DEFAULT_CHANNEL_ID = "1300000000000000001"
BOT_ROLE_ID = "1400000000000000001"

# Discord's epoch-based snowflakes are increasing; a counter keeps ids unique, sortable and readable.
_FIRST_SNOWFLAKE = 1500000000000000000
ACCESS_TOKEN_LIFETIME = 604800
AUTHORIZATION_CODE_LIFETIME = 600
INTERACTION_TOKEN_LIFETIME = 15 * 60
# Discord checks an enforced nonce "for uniqueness in the past few minutes" (message.mdx, Create Message)
# without saying how many: the fake keeps the short end, so the project cannot lean on a longer one.
NONCE_WINDOW_SECONDS = 120.0


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class RecordedRequest:
    """One request the fake received (after routing), with the status it answered."""

    method: str
    path: str  # e.g. /api/v10/guilds/1/members/2/roles/3, without the query string
    route: str  # the matched template, e.g. /guilds/{guild_id}/members/{user_id}/roles/{role_id}
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    form: dict[str, str] | None
    body: bytes
    time: float
    status: int = 0
    audit_log_reason: str | None = None  # X-Audit-Log-Reason, URL-decoded


@dataclass
class InjectedFailure:
    """The next ``times`` requests matching method + route template answer ``status`` instead."""

    method: str
    route: str
    status: int
    times: int
    body: dict | None = None
    retry_after: float = 1.0
    scope: str = "user"
    is_global: bool = False


@dataclass
class DroppedResponse:
    """The next ``times`` requests matching method + route template get no answer: the connection is cut.

    ``handled``: the request is carried out first (the message is created), so the caller never learns
    what happened; otherwise it is not. ``hang_seconds`` passes before the connection is cut.
    """

    method: str
    route: str
    times: int
    handled: bool = True
    hang_seconds: float = 0.0


@dataclass
class RateLimitRule:
    """A per-route limit: ``limit`` requests per ``window`` seconds, per major parameter."""

    limit: int
    window: float
    bucket: str


@dataclass
class BucketWindow:
    remaining: int
    reset_at: float


@dataclass
class OAuthGrant:
    """One user's authorization of the app: the code, and the live access/refresh token pair."""

    user_id: str
    scope: str
    redirect_uri: str
    code: str | None
    code_expires_at: float
    code_used: bool = False
    access_token: str | None = None
    refresh_token: str | None = None
    access_expires_at: float = 0.0
    revoked: bool = False


@dataclass
class Interaction:
    """An interaction the fake has delivered; its token answers the callback and webhook routes."""

    id: str
    token: str
    application_id: str
    channel_id: str | None
    guild_id: str | None
    created_at: float
    responded: bool = False
    response: dict | None = None
    original_message: dict | None = None
    followups: list[dict] = field(default_factory=list)


class FakeDiscordState:
    """Everything the fake Discord knows; tests seed it with the ``add_*`` helpers."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    # --- lifecycle ------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget everything and seed the default world: the bot, one guild, its bot role, #general."""
        with self.lock:
            self._ids = itertools.count(_FIRST_SNOWFLAKE)
            self.bot_token = BOT_TOKEN
            self.application_id = APPLICATION_ID
            self.client_secret = CLIENT_SECRET
            self.users: dict[str, dict] = {}
            self.dms_closed: set[str] = set()
            self.guilds: dict[str, dict] = {}
            self.roles: dict[str, dict[str, dict]] = {}
            self.members: dict[str, dict[str, dict]] = {}
            self.channels: dict[str, dict] = {}
            self.messages: dict[str, dict[str, dict]] = {}
            self.dm_channels: dict[str, str] = {}  # user id -> DM channel id
            self.global_commands: list[dict] = []
            self.guild_commands: dict[str, list[dict]] = {}
            self.role_connections: dict[str, dict] = {}  # user id -> role connection
            self.role_connection_metadata: list[dict] = []
            self.grants: list[OAuthGrant] = []
            self.oauth_deny = False
            self.oauth_consent_user_id: str | None = None
            self.interactions: dict[str, Interaction] = {}
            self.requests: list[RecordedRequest] = []
            self.failures: list[InjectedFailure] = []
            self.dropped: list[DroppedResponse] = []
            self.delays: dict[tuple[str, str], float] = {}  # (method, route template) -> seconds
            # (channel id, author id, nonce) -> (message id, when): enforce_nonce's memory.
            self.nonces: dict[tuple[str, str, str], tuple[str, float]] = {}
            self.nonce_window_seconds = NONCE_WINDOW_SECONDS
            # (bucket, major|auth, window reset) -> 429s answered in that window by the per-route limit.
            self.limited_windows: dict[tuple[str, str, float], int] = {}
            self.rate_limits: dict[str, RateLimitRule] = {}
            self.bucket_windows: dict[tuple[str, str], BucketWindow] = {}
            self.global_limit = 50
            self.global_windows: dict[str, tuple[int, int]] = {}  # auth -> (second, count)
            self.ratelimit_hits: dict[str, int] = {}  # bucket hash -> 429s answered
            self.invalid_requests = 0  # 401/403/429 (not scope "shared"), as Discord counts them

            self.bot_user = self._user_payload(
                self.application_id, username="DealScale", bot=True, email=None, verified=True
            )
            self.users[self.bot_user["id"]] = self.bot_user
            self.add_guild(GUILD_ID, name="DealScale Test Guild")
            self.add_role(
                GUILD_ID,
                role_id=BOT_ROLE_ID,
                name="DealScale",
                position=10,
                permissions=str(1 << 28),
                managed=True,
                bot_id=self.application_id,
            )
            self.add_member(GUILD_ID, self.bot_user["id"], roles=[BOT_ROLE_ID])
            self.add_channel(GUILD_ID, channel_id=DEFAULT_CHANNEL_ID, name="general")

    def snowflake(self) -> str:
        return str(next(self._ids))

    # --- seeding --------------------------------------------------------------------------------
    @staticmethod
    def _user_payload(
        user_id: str,
        *,
        username: str,
        bot: bool,
        email: str | None,
        verified: bool,
        global_name: str | None = None,
        avatar: str | None = None,
    ) -> dict:
        return {
            "id": user_id,
            "username": username,
            "global_name": global_name,
            "avatar": avatar,
            "discriminator": "0",
            "public_flags": 0,
            "flags": 0,
            "bot": bot,
            "banner": None,
            "accent_color": None,
            "locale": "en-US",
            "mfa_enabled": False,
            "premium_type": 0,
            "email": email,
            "verified": verified,
        }

    def add_user(
        self,
        user_id: str | None = None,
        *,
        username: str | None = None,
        global_name: str | None = None,
        email: str | None = None,
        verified: bool = True,
        avatar: str | None = None,
        dms_closed: bool = False,
    ) -> dict:
        """Create a Discord user; ``dms_closed`` makes DMs to them fail with 50007."""
        with self.lock:
            user_id = str(user_id or self.snowflake())
            username = username or f"user{user_id[-4:]}"
            user = self._user_payload(
                user_id,
                username=username,
                bot=False,
                verified=verified,
                avatar=avatar,
                email=email if email is not None else f"{username}@example.com",
                global_name=global_name if global_name is not None else username.title(),
            )
            self.users[user_id] = user
            if dms_closed:
                self.dms_closed.add(user_id)
            return user

    def add_guild(
        self, guild_id: str | None = None, *, name: str = "Guild", owner_id: str | None = None
    ) -> dict:
        """Create a guild with its @everyone role (same id as the guild, position 0)."""
        with self.lock:
            guild_id = str(guild_id or self.snowflake())
            self.guilds[guild_id] = {
                "id": guild_id,
                "name": name,
                "icon": None,
                "splash": None,
                "discovery_splash": None,
                "owner_id": owner_id or "1000000000000000001",
                "afk_channel_id": None,
                "afk_timeout": 300,
                "verification_level": 0,
                "default_message_notifications": 0,
                "explicit_content_filter": 0,
                "features": [],
                "mfa_level": 0,
                "system_channel_id": None,
                "system_channel_flags": 0,
                "rules_channel_id": None,
                "vanity_url_code": None,
                "description": None,
                "banner": None,
                "premium_tier": 0,
                "premium_subscription_count": 0,
                "preferred_locale": "en-US",
                "public_updates_channel_id": None,
                "nsfw_level": 0,
                "premium_progress_bar_enabled": False,
                "emojis": [],
                "stickers": [],
                "application_id": None,
                "max_members": 500000,
            }
            self.roles[guild_id] = {}
            self.members[guild_id] = {}
            self.guild_commands.setdefault(guild_id, [])
            self.add_role(guild_id, role_id=guild_id, name="@everyone", position=0, permissions="104324673")
            return self.guilds[guild_id]

    def add_role(
        self,
        guild_id: str = GUILD_ID,
        *,
        name: str,
        position: int,
        role_id: str | None = None,
        permissions: str = "0",
        managed: bool = False,
        bot_id: str | None = None,
        color: int = 0,
        hoist: bool = False,
    ) -> dict:
        """Create a role; a role at or above the bot's top role, or a managed one, can't be assigned."""
        with self.lock:
            role_id = str(role_id or self.snowflake())
            role = {
                "id": role_id,
                "name": name,
                "color": color,
                "colors": {"primary_color": color, "secondary_color": None, "tertiary_color": None},
                "hoist": hoist,
                "icon": None,
                "unicode_emoji": None,
                "position": position,
                "permissions": permissions,
                "managed": managed,
                "mentionable": False,
                "flags": 0,
            }
            if bot_id:
                role["tags"] = {"bot_id": bot_id}
            self.roles[str(guild_id)][role_id] = role
            return role

    def add_member(
        self, guild_id: str, user_id: str, *, roles: list[str] | None = None, nick: str | None = None
    ) -> dict:
        """Put an existing user in a guild with the given role ids."""
        with self.lock:
            guild_id, user_id = str(guild_id), str(user_id)
            member = {
                "user": self.users[user_id],
                "nick": nick,
                "avatar": None,
                "banner": None,
                "roles": [str(r) for r in (roles or [])],
                "joined_at": _now_iso(),
                "premium_since": None,
                "deaf": False,
                "mute": False,
                "flags": 0,
                "pending": False,
                "communication_disabled_until": None,
            }
            self.members[guild_id][user_id] = member
            return member

    def add_channel(
        self, guild_id: str = GUILD_ID, *, name: str, channel_id: str | None = None, channel_type: int = 0
    ) -> dict:
        """Create a guild channel (type 0 = text)."""
        with self.lock:
            channel_id = str(channel_id or self.snowflake())
            self.channels[channel_id] = {
                "id": channel_id,
                "type": channel_type,
                "guild_id": str(guild_id),
                "name": name,
                "position": len(self.channels),
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
                "topic": None,
                "last_message_id": None,
                "rate_limit_per_user": 0,
                "flags": 0,
            }
            self.messages.setdefault(channel_id, {})
            return self.channels[channel_id]

    def member_roles(self, guild_id: str, user_id: str) -> list[str]:
        """The role ids a member has now (what role-sync tests assert)."""
        with self.lock:
            return list(self.members[str(guild_id)][str(user_id)]["roles"])

    def bot_top_position(self, guild_id: str) -> int:
        with self.lock:
            bot_member = self.members[guild_id].get(self.bot_user["id"])
            roles = self.roles[guild_id]
            ids = bot_member["roles"] if bot_member else []
            return max([roles[r]["position"] for r in ids if r in roles] + [0])

    def guild_payload(self, guild_id: str, *, full: bool = False) -> dict:
        """The guild object; ``full`` adds GUILD_CREATE's members and channels."""
        with self.lock:
            payload = dict(self.guilds[guild_id])
            payload["roles"] = sorted(self.roles[guild_id].values(), key=lambda r: r["position"])
            if full:
                members = list(self.members[guild_id].values())
                payload.update(
                    {
                        "members": members,
                        "member_count": len(members),
                        "large": False,
                        "unavailable": False,
                        "joined_at": _now_iso(),
                        "voice_states": [],
                        "presences": [],
                        "threads": [],
                        "stage_instances": [],
                        "guild_scheduled_events": [],
                        "channels": [c for c in self.channels.values() if c.get("guild_id") == guild_id],
                    }
                )
            return payload

    # --- messages -------------------------------------------------------------------------------
    def dm_channel_for(self, user_id: str) -> dict:
        with self.lock:
            channel_id = self.dm_channels.get(user_id)
            if channel_id is None:
                channel_id = self.snowflake()
                self.dm_channels[user_id] = channel_id
                self.channels[channel_id] = {
                    "id": channel_id,
                    "type": 1,
                    "last_message_id": None,
                    "flags": 0,
                    "recipients": [self.users[user_id]],
                }
                self.messages[channel_id] = {}
            return self.channels[channel_id]

    def make_message(
        self, channel_id: str, body: dict, *, author: dict | None = None, webhook_id: str | None = None
    ) -> dict:
        with self.lock:
            channel = self.channels.get(channel_id, {})
            message = {
                "id": self.snowflake(),
                "channel_id": channel_id,
                "author": author or self.bot_user,
                "content": body.get("content") or "",
                "timestamp": _now_iso(),
                "edited_timestamp": None,
                "tts": bool(body.get("tts")),
                "mention_everyone": False,
                "mentions": [],
                "mention_roles": [],
                "attachments": [],
                "embeds": body.get("embeds") or [],
                "components": body.get("components") or [],
                "pinned": False,
                "type": 0,
                "flags": body.get("flags") or 0,
            }
            if channel.get("guild_id"):
                message["guild_id"] = channel["guild_id"]
            if webhook_id:
                message["webhook_id"] = webhook_id
            self.messages.setdefault(channel_id, {})[message["id"]] = message
            channel["last_message_id"] = message["id"]
            return message

    def create_message_once(self, channel_id: str, body: dict) -> tuple[dict, bool]:
        """Create a message, or with ``enforce_nonce`` return the one this author made with the same nonce
        within ``nonce_window_seconds``; returns (message, created)."""
        with self.lock:
            nonce = body.get("nonce")
            key = (channel_id, self.bot_user["id"], str(nonce))
            if nonce is not None and body.get("enforce_nonce"):
                earlier = self.nonces.get(key)
                if earlier and time.time() - earlier[1] <= self.nonce_window_seconds:
                    message = self.messages.get(channel_id, {}).get(earlier[0])
                    if message is not None:
                        return message, False
            message = self.make_message(channel_id, body)
            if nonce is not None:
                message["nonce"] = nonce
                self.nonces[key] = (message["id"], time.time())
            return message, True

    def expire_nonces(self) -> None:
        """Forget every nonce, as Discord does after its window: a repeat then creates a second message."""
        with self.lock:
            self.nonces.clear()

    def edit_message(self, message: dict, body: dict) -> dict:
        """Apply an edit body (channel message or webhook message) to ``message``; a null field clears it."""
        with self.lock:
            for key in ("content", "embeds", "components", "flags"):
                if key in body:
                    message[key] = body[key] if body[key] is not None else ([] if key != "content" else "")
            message["edited_timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
            return message

    def sent_messages(self, channel_id: str | None = None) -> list[dict]:
        """Messages posted (to one channel, or everywhere), oldest first."""
        with self.lock:
            channels = [channel_id] if channel_id else list(self.messages)
            found = [m for c in channels for m in self.messages.get(c, {}).values()]
            return sorted(found, key=lambda m: int(m["id"]))

    def dms_to(self, user_id: str) -> list[dict]:
        """Messages the bot sent in its DM channel with ``user_id``."""
        with self.lock:
            channel_id = self.dm_channels.get(str(user_id))
            return self.sent_messages(channel_id) if channel_id else []

    # --- interactions ---------------------------------------------------------------------------
    def create_interaction(
        self,
        *,
        name: str = "ping",
        user_id: str,
        guild_id: str | None = GUILD_ID,
        channel_id: str | None = DEFAULT_CHANNEL_ID,
        options: list[dict] | None = None,
        command_id: str | None = None,
        interaction_type: int = 2,
        data: dict | None = None,
    ) -> dict:
        """A real-shaped INTERACTION_CREATE payload (slash command by default), registered for callbacks."""
        with self.lock:
            interaction = Interaction(
                id=self.snowflake(),
                token="aW50ZXJhY3Rpb24" + secrets.token_urlsafe(40),
                application_id=self.application_id,
                channel_id=channel_id,
                guild_id=guild_id,
                created_at=time.time(),
            )
            self.interactions[interaction.token] = interaction
            user = self.users[str(user_id)]
            if data is None:
                data = {"id": command_id or self._command_id(name, guild_id), "name": name, "type": 1}
                if options:
                    data["options"] = options
                if guild_id:
                    data["guild_id"] = guild_id
            payload = {
                "id": interaction.id,
                "application_id": self.application_id,
                "type": interaction_type,
                "data": data,
                "channel_id": channel_id,
                "token": interaction.token,
                "version": 1,
                "locale": "en-US",
                "app_permissions": "562949953421311",
                "entitlements": [],
                "authorizing_integration_owners": {"0": guild_id} if guild_id else {"1": user["id"]},
                "context": 0 if guild_id else 1,
                "attachment_size_limit": 10485760,
            }
            if channel_id and channel_id in self.channels:
                payload["channel"] = self.channels[channel_id]
            if guild_id:
                payload["guild_id"] = guild_id
                payload["guild_locale"] = "en-US"
                payload["guild"] = {"id": guild_id, "locale": "en-US", "features": []}
                member = self.members[guild_id].get(user["id"]) or self.add_member(guild_id, user["id"])
                payload["member"] = dict(member, permissions="2248473465835073")
            else:
                payload["user"] = user
            return payload

    def _command_id(self, name: str, guild_id: str | None) -> str:
        for command in self.guild_commands.get(guild_id or "", []) + self.global_commands:
            if command["name"] == name:
                return command["id"]
        return self.snowflake()

    def interaction(self, token: str) -> Interaction | None:
        with self.lock:
            found = self.interactions.get(token)
            if found and time.time() - found.created_at > INTERACTION_TOKEN_LIFETIME:
                return None
            return found

    # --- OAuth2 ---------------------------------------------------------------------------------
    def authorize(
        self,
        *,
        user_id: str,
        scope: str = "identify email",
        redirect_uri: str = "http://testserver/accounts/discord/callback/",
    ) -> str:
        """Record a user's consent and return the one-use authorization code (as /oauth2/authorize does)."""
        with self.lock:
            grant = OAuthGrant(
                user_id=str(user_id),
                scope=scope,
                redirect_uri=redirect_uri,
                code=secrets.token_urlsafe(20),
                code_expires_at=time.time() + AUTHORIZATION_CODE_LIFETIME,
            )
            self.grants.append(grant)
            return grant.code

    def issue_tokens(self, grant: OAuthGrant) -> dict:
        with self.lock:
            grant.access_token = secrets.token_urlsafe(24)
            grant.refresh_token = secrets.token_urlsafe(24)
            grant.access_expires_at = time.time() + ACCESS_TOKEN_LIFETIME
            return {
                "access_token": grant.access_token,
                "token_type": "Bearer",
                "expires_in": ACCESS_TOKEN_LIFETIME,
                "refresh_token": grant.refresh_token,
                "scope": grant.scope,
            }

    def grant_tokens(self, *, user_id: str, scope: str = "identify email") -> dict:
        """Skip the browser: authorize + exchange in one step, returning the token response."""
        code = self.authorize(user_id=user_id, scope=scope)
        with self.lock:
            grant = self.grant_by(code=code)
            grant.code_used = True
            return self.issue_tokens(grant)

    def grant_by(
        self, *, code: str | None = None, access_token: str | None = None, refresh_token: str | None = None
    ) -> OAuthGrant | None:
        with self.lock:
            for grant in self.grants:
                if grant.revoked:
                    continue
                if code and grant.code == code:
                    return grant
                if access_token and grant.access_token == access_token:
                    return grant
                if refresh_token and grant.refresh_token == refresh_token:
                    return grant
            return None

    def expire_access_token(self, access_token: str) -> None:
        """Make a live access token answer 401 from now on (its refresh token still works)."""
        with self.lock:
            self.grant_by(access_token=access_token).access_expires_at = time.time() - 1

    def is_revoked(self, token: str) -> bool:
        """True when no live grant holds ``token`` as its access or refresh token."""
        return self.grant_by(access_token=token) is None and self.grant_by(refresh_token=token) is None

    # --- behaviours -----------------------------------------------------------------------------
    def set_rate_limit(
        self, method: str, route: str, *, limit: int, window: float = 1.0, bucket: str | None = None
    ) -> None:
        """Limit ``method route`` (a template like ``/guilds/{guild_id}/members/{user_id}/roles/{role_id}``).

        Routes given the same ``bucket`` hash share one limit, as Discord's shared buckets do.
        """
        with self.lock:
            key = f"{method.upper()} {route}"
            self.rate_limits[key] = RateLimitRule(limit=limit, window=window, bucket=bucket or _hash(key))

    def fail_next(
        self,
        method: str,
        route: str,
        *,
        status: int,
        times: int = 1,
        body: dict | None = None,
        retry_after: float = 1.0,
        scope: str = "user",
        is_global: bool = False,
    ) -> None:
        """Answer the next ``times`` calls of ``method route`` with ``status`` (500/502/503/429/403...)."""
        with self.lock:
            self.failures.append(
                InjectedFailure(
                    method=method.upper(),
                    route=route,
                    status=status,
                    times=times,
                    body=body,
                    retry_after=retry_after,
                    scope=scope,
                    is_global=is_global,
                )
            )

    def drop_next(
        self, method: str, route: str, *, times: int = 1, handled: bool = True, hang_seconds: float = 0.0
    ) -> None:
        """Cut the connection of the next ``times`` calls of ``method route`` without an answer, after
        carrying them out when ``handled`` (Discord did the work, the response was lost) and after
        ``hang_seconds`` (a hung call: longer than the client's timeout, it is a timeout)."""
        with self.lock:
            self.dropped.append(
                DroppedResponse(
                    method=method.upper(),
                    route=route,
                    times=times,
                    handled=handled,
                    hang_seconds=hang_seconds,
                )
            )

    def slow_down(self, method: str, route: str, *, seconds: float) -> None:
        """Make every call of ``method route`` take ``seconds`` longer (0 restores the normal pace)."""
        with self.lock:
            self.delays[(method.upper(), route)] = seconds

    def take_drop(self, method: str, route: str) -> DroppedResponse | None:
        with self.lock:
            for dropped in self.dropped:
                if dropped.method == method and dropped.route == route and dropped.times > 0:
                    dropped.times -= 1
                    return dropped
            return None

    def take_failure(self, method: str, route: str) -> InjectedFailure | None:
        with self.lock:
            for failure in self.failures:
                if failure.method == method and failure.route == route and failure.times > 0:
                    failure.times -= 1
                    return failure
            return None

    def requests_to(self, method: str | None = None, route: str | None = None) -> list[RecordedRequest]:
        """Recorded requests, filtered by method and route template (or an exact path)."""
        with self.lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method.upper())
                and (route is None or route in (r.route, r.path))
            ]


def _hash(key: str) -> str:
    return hashlib.sha1(key.encode()).hexdigest()[:32]

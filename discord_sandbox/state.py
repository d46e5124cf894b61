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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

BOT_TOKEN = "fake-bot-token.Bot.Secret"
APPLICATION_ID = "1100000000000000001"  # the client id; Discord's newer apps share it with the bot user id
CLIENT_SECRET = "fake-client-secret"
GUILD_ID = "1200000000000000001"
DEFAULT_CHANNEL_ID = "1300000000000000001"
BOT_ROLE_ID = "1400000000000000001"
# Application flags (``application.mdx`` "Application Flags"): the privileged intents a bot in under 100
# servers has once they are switched on in the portal: presence, server members, message content.
GATEWAY_PRESENCE_LIMITED = 1 << 13
GATEWAY_GUILD_MEMBERS_LIMITED = 1 << 15
GATEWAY_MESSAGE_CONTENT_LIMITED = 1 << 19
DEFAULT_APPLICATION_FLAGS = (
    GATEWAY_PRESENCE_LIMITED | GATEWAY_GUILD_MEMBERS_LIMITED | GATEWAY_MESSAGE_CONTENT_LIMITED
)
VIEW_CHANNEL = 1 << 10
ADMINISTRATOR = 1 << 3

# Discord's epoch-based snowflakes are increasing; a counter keeps ids unique, sortable and readable.
_FIRST_SNOWFLAKE = 1500000000000000000
ACCESS_TOKEN_LIFETIME = 604800
AUTHORIZATION_CODE_LIFETIME = 600
# receiving-and-responding.mdx: the initial response within 3 s of the event, the token valid 15 minutes.
INTERACTION_RESPONSE_DEADLINE = 3.0
LOADING_FLAG = 1 << 7  # message.mdx "Message Flags": a deferred interaction response still "thinking"
INTERACTION_TOKEN_LIFETIME = 15 * 60
# message.mdx "Create Message": with enforce_nonce, a nonce is unique "in the past few minutes".
NONCE_WINDOW = 5 * 60


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
    status: int = 0  # 0 when the client got no response (an injected dropped connection)
    audit_log_reason: str | None = None  # X-Audit-Log-Reason, URL-decoded
    handled: bool = False  # the route did its work (False when an injected failure answered instead)
    done: bool = False  # answered, or dropped: nothing more will happen for this request


@dataclass
class InjectedFailure:
    """The next ``times`` requests matching method + route template (and ``when``) fail this way.

    ``status`` answers that status (429 with ``retry_after``, 5xx, 401...); ``hang`` holds the response that
    many seconds (past the client's timeout); ``disconnect`` closes the connection without a response.
    ``after_work`` does the route's work first (the message is created), then fails: how a client learns
    nothing of what Discord did.
    """

    method: str
    route: str
    status: int | None
    times: int
    body: dict | None = None
    retry_after: float = 1.0
    scope: str = "user"
    is_global: bool = False
    hang: float = 0.0
    disconnect: bool = False
    after_work: bool = False
    when: Callable[[RecordedRequest], bool] | None = None


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
    created_at: float  # on the state's clock; its dispatch to the gateway restarts the 3 s
    responded: bool = False  # acknowledged: any accepted callback, deferred types 5 and 6 included
    response: dict | None = None
    acknowledged_at: float | None = None
    original_message: dict | None = None
    followups: list[dict] = field(default_factory=list)
    message: dict | None = None  # the message a component interaction came from (what type 6/7 edit)


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
            # GET /applications/@me: ``flags`` (READY's application too) and ``redirect_uris`` (left out of
            # the answer while None, as the field is optional in Discord's application object).
            self.application_flags = DEFAULT_APPLICATION_FLAGS
            self.redirect_uris: list[str] | None = None
            # The portal's "Linked Roles Verification URL" (None: not set).
            self.role_connections_verification_url: str | None = None
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
            self.role_connection_puts: dict[str, int] = {}  # user id -> role connection PUTs stored
            self.role_connection_metadata: list[dict] = []  # the app's records, as the last PUT stored them
            self.grants: list[OAuthGrant] = []
            self.oauth_deny = False
            self.oauth_consent_user_id: str | None = None
            # Off, /oauth2/authorize consents at once for ``oauth_consent_user_id`` (what tests drive); on (the
            # ``make run`` sandbox), it shows the consent page where the visitor picks who they are.
            self.oauth_consent_page = False
            self.application_name = "DealScale"
            self.interactions: dict[str, Interaction] = {}
            self.guild_members_intent = (
                True  # off: GET /guilds/{id}/members 403s, IDENTIFY with it closes 4014
            )
            self.created_messages: list[dict] = []  # every message created, in order, deleted ones included
            # (bucket, major|auth, window reset) -> 429s the per-route limit answered in that window.
            self.limited_windows: dict[tuple[str, str, float], int] = {}
            self.message_nonces: dict[tuple[str, str, str], tuple[str, float]] = {}  # -> (message id, at)
            self._clock_offset = 0.0
            self._frozen_at: float | None = None
            self.requests: list[RecordedRequest] = []
            self.failures: list[InjectedFailure] = []
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

    # --- the clock (interaction deadlines, nonce windows, gateway IDENTIFY spacing) ----------------
    def now(self) -> float:
        """Epoch seconds: the real clock unless a test froze or advanced it."""
        with self.lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return time.time() + self._clock_offset

    def freeze_clock(self) -> float:
        """Stop the clock where it is (it moves only with ``advance_clock``); returns the frozen time."""
        with self.lock:
            self._frozen_at = self.now()
            return self._frozen_at

    def advance_clock(self, seconds: float) -> None:
        """Move the clock forward, e.g. past an interaction's 3 s, without sleeping."""
        with self.lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._clock_offset += seconds

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
        self,
        guild_id: str = GUILD_ID,
        *,
        name: str,
        channel_id: str | None = None,
        channel_type: int = 0,
        permission_overwrites: list[dict] | None = None,
    ) -> dict:
        """Create a guild channel (type 0 = text, 5 = announcement); overwrites are
        ``{"id", "type": 0 role | 1 member, "allow", "deny"}`` with permission strings."""
        with self.lock:
            channel_id = str(channel_id or self.snowflake())
            self.channels[channel_id] = {
                "id": channel_id,
                "type": channel_type,
                "guild_id": str(guild_id),
                "name": name,
                "position": len(self.channels),
                "permission_overwrites": list(permission_overwrites or []),
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

    def channel_permissions(self, channel_id: str, user_id: str) -> int:
        """A member's permissions in a guild channel, computed as Discord documents it (``permissions.mdx``,
        "Permission Overwrites"): owner or ADMINISTRATOR has all; else @everyone | roles, then overwrites."""
        everything = (1 << 64) - 1
        with self.lock:
            channel = self.channels[channel_id]
            guild_id = channel["guild_id"]
            member = self.members[guild_id].get(user_id)
            if member is None:
                return 0
            if self.guilds[guild_id]["owner_id"] == user_id:
                return everything
            roles = self.roles[guild_id]
            permissions = int(roles[guild_id]["permissions"])
            for role_id in member["roles"]:
                if role_id in roles:
                    permissions |= int(roles[role_id]["permissions"])
            if permissions & ADMINISTRATOR:
                return everything
            overwrites = {o["id"]: o for o in channel["permission_overwrites"]}
            if everyone := overwrites.get(guild_id):
                permissions = (permissions & ~int(everyone["deny"])) | int(everyone["allow"])
            allow = deny = 0
            for role_id in member["roles"]:
                if overwrite := overwrites.get(role_id):
                    allow |= int(overwrite["allow"])
                    deny |= int(overwrite["deny"])
            permissions = (permissions & ~deny) | allow
            if own := overwrites.get(user_id):
                permissions = (permissions & ~int(own["deny"])) | int(own["allow"])
            return permissions

    def bot_can_view(self, channel_id: str) -> bool:
        return bool(self.channel_permissions(channel_id, self.bot_user["id"]) & VIEW_CHANNEL)

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
        """Store a message (a validated body, or one seeded by a test) and return it."""
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
            if body.get("nonce") is not None:
                message["nonce"] = body["nonce"]
            self.messages.setdefault(channel_id, {})[message["id"]] = message
            self.created_messages.append(message)
            channel["last_message_id"] = message["id"]
            return message

    def message_with_nonce(self, channel_id: str, author_id: str, nonce: int | str) -> dict | None:
        """The message the same author created with ``nonce`` in the channel within the nonce window."""
        with self.lock:
            found = self.message_nonces.get((channel_id, author_id, str(nonce)))
            if found is None or self.now() - found[1] > NONCE_WINDOW:
                return None
            return self.messages.get(channel_id, {}).get(found[0])

    def remember_nonce(self, message: dict) -> None:
        with self.lock:
            key = (message["channel_id"], message["author"]["id"], str(message["nonce"]))
            self.message_nonces[key] = (message["id"], self.now())

    def edit_message(self, message: dict, body: dict) -> dict:
        """Apply an edit body (channel message or webhook message) to ``message``; a null field clears it."""
        with self.lock:
            for key in ("content", "embeds", "components", "flags"):
                if key in body:
                    cleared = {"content": "", "flags": 0}.get(key, [])
                    message[key] = body[key] if body[key] is not None else cleared
            # Editing a deferred response ends its "thinking…" state.
            message["flags"] = (message.get("flags") or 0) & ~LOADING_FLAG
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
        message: dict | None = None,
    ) -> dict:
        """A real-shaped INTERACTION_CREATE payload (slash command by default), registered for callbacks.

        ``message``: for a component or modal interaction, the message it came from (``make_message``).
        """
        with self.lock:
            interaction = Interaction(
                id=self.snowflake(),
                token="aW50ZXJhY3Rpb24" + secrets.token_urlsafe(40),
                application_id=self.application_id,
                channel_id=channel_id,
                guild_id=guild_id,
                created_at=self.now(),
                message=message,
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
            if message is not None:
                payload["message"] = message
            return payload

    def _command_id(self, name: str, guild_id: str | None) -> str:
        for command in self.guild_commands.get(guild_id or "", []) + self.global_commands:
            if command["name"] == name:
                return command["id"]
        return self.snowflake()

    def interaction(self, token: str) -> Interaction | None:
        """The interaction a token belongs to, however old (the routes decide what its age allows)."""
        with self.lock:
            return self.interactions.get(token)

    def interaction_dispatched(self, payload: dict) -> None:
        """An INTERACTION_CREATE went out: its 3 s start now, and it learns the message it came from."""
        with self.lock:
            interaction = self.interactions.get(payload.get("token", ""))
            if interaction is None:
                return
            interaction.created_at = self.now()
            message = payload.get("message") or {}
            stored = self.messages.get(message.get("channel_id", ""), {}).get(message.get("id", ""))
            if stored is not None:
                interaction.message = stored

    # --- linked roles ---------------------------------------------------------------------------
    def role_connection_of(self, user_id: str) -> dict | None:
        """The user's role connection with the app (a copy), or None while they have none."""
        with self.lock:
            connection = self.role_connections.get(str(user_id))
            return None if connection is None else {**connection, "metadata": dict(connection["metadata"])}

    def store_role_connection(self, user_id: str, connection: dict) -> None:
        """Replace the user's role connection (a validated PUT) and count the PUT."""
        with self.lock:
            user_id = str(user_id)
            self.role_connections[user_id] = connection
            self.role_connection_puts[user_id] = self.role_connection_puts.get(user_id, 0) + 1

    def delete_role_connection(self, user_id: str) -> None:
        """Forget the user's role connection; GET then answers an empty one."""
        with self.lock:
            self.role_connections.pop(str(user_id), None)

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
        status: int | None = None,
        times: int = 1,
        body: dict | None = None,
        retry_after: float = 1.0,
        scope: str = "user",
        is_global: bool = False,
        hang: float = 0.0,
        disconnect: bool = False,
        after_work: bool = False,
        when: Callable[[RecordedRequest], bool] | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method route`` fail (see ``InjectedFailure``).

        ``status``: 500/502/503/429/401/403...; ``hang``: seconds to hold the response; ``disconnect``: close
        the connection unanswered; ``after_work``: fail only once the route did its work; ``when``: only
        requests it returns True for (``lambda r: r.form["grant_type"] == "refresh_token"``).
        """
        if status is None and not hang and not disconnect:
            raise ValueError("fail_next needs a status, a hang or disconnect=True")
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
                    hang=hang,
                    disconnect=disconnect,
                    after_work=after_work,
                    when=when,
                )
            )

    def take_failure(
        self, method: str, route: str, request: RecordedRequest | None = None
    ) -> InjectedFailure | None:
        with self.lock:
            for failure in self.failures:
                if failure.method != method or failure.route != route or failure.times <= 0:
                    continue
                if failure.when is not None and (request is None or not failure.when(request)):
                    continue
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

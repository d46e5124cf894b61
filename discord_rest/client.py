"""The one synchronous Discord REST client: Celery tasks, management commands and web views call Discord here.

Every call goes to ``settings.DISCORD_API_BASE_URL`` (read at call time, so tests point it at the fake) and
through the shared rate-limit governor (``discordbot/ratelimit.py``). 5xx answers and network errors are
retried with exponential backoff and jitter; a 429 waits what Discord asks; 4xx are never retried.

Every message (``send_message``/``send_dm``) carries a nonce with ``enforce_nonce``: Discord then returns the
message it already created for that nonce instead of a second one ("checked for uniqueness in the past few
minutes", discord-api-docs ``developers/resources/message.mdx``, Create Message), so posting a message is
retried after a timeout like a GET.
"""

from __future__ import annotations

import base64
import hmac
import random
import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import requests
import structlog
from django.conf import settings
from urllib3.exceptions import ConnectTimeoutError

from discord_rest.errors import (
    DiscordError,
    DiscordForbidden,
    DiscordInvalidRequestLimit,
    DiscordNotFound,
    DiscordRateLimited,
    DiscordServerError,
    DiscordUnauthorized,
)
from discord_rest.ratelimit import Governor, get_governor, identity_for, route_key

__all__ = [
    "DiscordClient",
    "DiscordError",
    "DiscordForbidden",
    "DiscordInvalidRequestLimit",
    "DiscordNotFound",
    "DiscordRateLimited",
    "DiscordServerError",
    "DiscordUnauthorized",
    "nonce_for",
]

logger = structlog.get_logger(__name__)

USER_AGENT = "DiscordBot (https://dealscale.example, 1.0)"
MAX_BACKOFF_SECONDS = 30.0
RETRIED_STATUSES = frozenset({500, 502, 503, 504})
# A timed-out request may have reached Discord: only methods that are safe to repeat are retried then.
IDEMPOTENT_METHODS = frozenset({"GET", "PUT", "DELETE", "HEAD", "OPTIONS"})
# Discord accepts a message nonce of up to 25 characters.
NONCE_LENGTH = 25
ERRORS_BY_STATUS: dict[int, type[DiscordError]] = {
    401: DiscordUnauthorized,
    403: DiscordForbidden,
    404: DiscordNotFound,
}


def nonce_for(event: str) -> str:
    """The message nonce of one logical event (e.g. "outbox:42"): the same event always gets the same nonce.

    Keyed with SECRET_KEY, so two deployments sharing a bot token never swallow each other's messages.
    """
    digest = hmac.new(settings.SECRET_KEY.encode(), f"discord-nonce:{event}".encode(), "sha256")
    return digest.hexdigest()[:NONCE_LENGTH]


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the connection was never established, so Discord cannot have seen the request.

    Any later failure (a reset, a read timeout) may come after Discord processed a POST or PATCH: retrying
    those would send a second DM or announcement.
    """
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    # requests wraps urllib3's MaxRetryError, whose `reason` is the connect-phase error.
    reason = getattr(reason, "reason", reason)
    return isinstance(reason, ConnectTimeoutError)  # NewConnectionError (refused, DNS) is a subclass


def _parse_body(response: requests.Response) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    if response.headers.get("Content-Type", "").split(";")[0].strip() == "application/json":
        try:
            return response.json()
        except ValueError:
            return response.text
    return response.text


class DiscordClient:
    """Discord's REST API with the bot token (or ``token``). Cheap to create: make one per task, request
    or thread, since its ``requests.Session`` is not meant to be shared between threads."""

    def __init__(
        self,
        *,
        token: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        max_retries: int = 4,
        max_retry_after: float | None = None,
        governor: Governor | None = None,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        self._token = token
        self._base_url = base_url
        self._timeout = timeout
        self.max_retries = max_retries
        # The longest 429 wait this client sits through before raising DiscordRateLimited (default
        # DISCORD_MAX_RETRY_AFTER): a web request a browser waits for can afford much less than a task.
        self._max_retry_after = max_retry_after
        self._governor = governor
        self.sleep = sleep
        self.session = session or requests.Session()

    @property
    def base_url(self) -> str:
        return (self._base_url or settings.DISCORD_API_BASE_URL).rstrip("/")

    @property
    def governor(self) -> Governor:
        return self._governor or get_governor()

    # --- the one request path -----------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        form: dict[str, str] | None = None,
        reason: str | None = None,
        auth: str = "bot",
        bearer_token: str | None = None,
        params: dict[str, Any] | None = None,
        essential: bool | None = None,
        retry_server_errors: bool = True,
        idempotent: bool = False,
    ) -> Any:
        """Call Discord and return the parsed JSON (None on 204).

        ``auth`` is ``"bot"`` (the bot token), ``"bearer"`` (a user's OAuth access token), ``"client"``
        (HTTP Basic with the OAuth client id/secret, for the token endpoints) or ``"none"``. A ``reason``
        goes to the guild's audit log. ``essential`` calls still go out after the invalid-request ceiling
        is reached; by default that is every call not made with the bot token.
        ``retry_server_errors=False`` for a call Discord must not see twice (an OAuth grant: the code is
        spent, the refresh token rotated, by a call whose answer was lost): a 5xx is raised at once. A 429
        and a connection that never opened are still retried, since Discord did not act on those.
        An ``idempotent`` POST or PATCH (Discord deduplicates it, e.g. by nonce) is retried after a timeout
        as a GET is.
        Raises DiscordUnauthorized (401), DiscordForbidden (403), DiscordNotFound (404), DiscordRateLimited
        (429 after retries, or a wait longer than DISCORD_MAX_RETRY_AFTER), DiscordServerError (5xx or network
        error after retries), DiscordError (anything else, e.g. 400 with ``code``/``error``).
        """
        method = method.upper()
        headers = {"User-Agent": USER_AGENT, **self._auth_headers(auth, bearer_token)}
        if reason:
            # Discord reads the header URL-encoded (1-512 UTF-8 characters); quoting keeps non-ASCII intact.
            headers["X-Audit-Log-Reason"] = quote(reason[:512], safe="/ ")
        route = route_key(method, path)
        identity = identity_for(headers.get("Authorization") if auth != "client" else None)
        essential = (auth != "bot" or route.global_exempt) if essential is None else essential
        url = f"{self.base_url}/{path.lstrip('/')}"
        timeout = self._timeout or settings.DISCORD_HTTP_TIMEOUT
        log = logger.bind(method=method, route=route.name, major=route.major)

        for attempt in range(self.max_retries + 1):
            last_attempt = attempt == self.max_retries
            self.governor.acquire(route, identity=identity, essential=essential, sleep=self.sleep)
            try:
                response = self.session.request(
                    method,
                    url,
                    headers=headers,
                    json=json,
                    data=form,
                    params=params,
                    timeout=timeout,
                    allow_redirects=False,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                self.governor.record_response(route, identity=identity, status=0)
                retriable = method in IDEMPOTENT_METHODS or idempotent or _never_sent(exc)
                # requests' messages quote the URL, and a webhook or interaction URL holds its token.
                log.warning(
                    "discord_network_error",
                    attempt=attempt,
                    error=type(exc).__name__,
                    will_retry=retriable and not last_attempt,
                )
                if not retriable or last_attempt:
                    raise DiscordServerError(f"network error: {type(exc).__name__}", status=0) from None
                self.sleep(self._backoff(attempt))
                continue

            body = _parse_body(response)
            self.governor.record_response(
                route, identity=identity, status=response.status_code, headers=response.headers, body=body
            )
            status = response.status_code
            if status < 400:
                return body
            if status == 429:
                retry_after = Governor.retry_after(response.headers, body)
                patience = (
                    settings.DISCORD_MAX_RETRY_AFTER
                    if self._max_retry_after is None
                    else self._max_retry_after
                )
                if last_attempt or retry_after > patience:
                    log.error(
                        "discord_rate_limited_giving_up",
                        attempt=attempt,
                        retry_after=retry_after,
                        scope=response.headers.get("X-RateLimit-Scope"),
                    )
                    raise self._error(response, body, retry_after=retry_after)
                # The governor now holds the bucket (or everybody, for a global 429) until retry_after.
                continue
            if status in RETRIED_STATUSES and retry_server_errors and not last_attempt:
                log.warning("discord_server_error", status=status, attempt=attempt, will_retry=True)
                self.sleep(self._backoff(attempt))
                continue
            log.warning("discord_request_failed", status=status, code=_code(body), attempt=attempt)
            raise self._error(response, body)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _auth_headers(self, auth: str, bearer_token: str | None) -> dict[str, str]:
        if auth == "bot":
            return {"Authorization": f"Bot {self._token or settings.DISCORD_BOT_TOKEN}"}
        if auth == "bearer":
            if not bearer_token:
                raise ValueError("auth='bearer' needs bearer_token")
            return {"Authorization": f"Bearer {bearer_token}"}
        if auth == "client":
            pair = f"{settings.DISCORD_CLIENT_ID}:{settings.DISCORD_CLIENT_SECRET}".encode()
            return {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}
        if auth == "none":
            return {}
        raise ValueError(f"unknown auth {auth!r}")

    @staticmethod
    def _backoff(attempt: int) -> float:
        base = settings.DISCORD_RETRY_BACKOFF_SECONDS
        return min(MAX_BACKOFF_SECONDS, base * 2**attempt) + random.uniform(0, base)

    @staticmethod
    def _error(response: requests.Response, body: Any, *, retry_after: float | None = None) -> DiscordError:
        status = response.status_code
        if isinstance(body, dict):
            message = body.get("message") or body.get("error_description") or body.get("error") or str(body)
            code, error = _code(body), body.get("error")
        else:
            message, code, error = (body or response.reason or "error")[:200], None, None
        if status == 429:
            return DiscordRateLimited(
                message, status=status, retry_after=retry_after or 1.0, code=code, error=error, body=body
            )
        if status >= 500:
            return DiscordServerError(message, status=status, code=code, error=error, body=body)
        return ERRORS_BY_STATUS.get(status, DiscordError)(
            message, status=status, code=code, error=error, body=body
        )

    # --- users and messages ----------------------------------------------------------------------
    def get_current_user(self) -> dict:
        """The bot's own user."""
        return self.request("GET", "/users/@me")

    def get_current_application(self) -> dict:
        """The bot's application: its id, ``flags`` (privileged intents granted) and ``redirect_uris``."""
        return self.request("GET", "/applications/@me")

    def create_dm(self, user_id: str) -> dict:
        """Open (or find) the DM channel with a user; asking again returns the same channel."""
        return self.request(
            "POST", "/users/@me/channels", json={"recipient_id": str(user_id)}, idempotent=True
        )

    def send_message(
        self,
        channel_id: str,
        *,
        content: str | None = None,
        embeds: Sequence[Mapping[str, Any]] | None = None,
        components: Sequence[Mapping[str, Any]] | None = None,
        nonce: str | None = None,
    ) -> dict:
        """Post a message; mentions are disabled so a message never pings anyone by accident.

        Every post carries a ``nonce`` with ``enforce_nonce``: the caller's ``nonce_for(event)``, so that a
        repeat of the delivery within Discord's nonce window returns the first message, or else a random one,
        which still covers this call's own retries. So a post is retried after a timeout like a GET: when
        Discord created the message and the answer was lost, it returns that message instead of a second one
        (``message.mdx``, "Create Message"; the nonce holds for a few minutes).
        """
        if nonce is not None and not 0 < len(nonce) <= NONCE_LENGTH:
            raise ValueError(f"A message nonce has 1 to {NONCE_LENGTH} characters, not {len(nonce)}.")
        body: dict[str, Any] = {
            "allowed_mentions": {"parse": []},
            "nonce": nonce or secrets.token_hex(12),
            "enforce_nonce": True,
        }
        if content is not None:
            body["content"] = content
        if embeds is not None:
            body["embeds"] = embeds
        if components is not None:
            body["components"] = components
        return self.request("POST", f"/channels/{channel_id}/messages", json=body, idempotent=True)

    def send_dm(
        self,
        user_id: str,
        *,
        content: str | None = None,
        embeds: Sequence[Mapping[str, Any]] | None = None,
        nonce: str | None = None,
    ) -> dict:
        """DM a user; DiscordForbidden with code 50007 when they don't accept DMs from the guild's bots."""
        channel = self.create_dm(user_id)
        return self.send_message(channel["id"], content=content, embeds=embeds, nonce=nonce)

    def edit_message(self, channel_id: str, message_id: str, **fields: Any) -> dict:
        """Edit a message the bot sent (``content``, ``embeds``, ``components``...)."""
        return self.request("PATCH", f"/channels/{channel_id}/messages/{message_id}", json=fields)

    # --- guilds, roles, members ------------------------------------------------------------------
    def get_guild(self, guild_id: str) -> dict:
        """The guild (with its roles and ``owner_id``); DiscordForbidden (50001) when the bot is not in it."""
        return self.request("GET", f"/guilds/{guild_id}")

    def get_guild_channels(self, guild_id: str) -> list[dict]:
        """The guild's channels with their ``permission_overwrites`` (those the bot cannot view are left out)."""
        return self.request("GET", f"/guilds/{guild_id}/channels")

    def get_guild_roles(self, guild_id: str) -> list[dict]:
        """Every role of the guild (with position and managed flag)."""
        return self.request("GET", f"/guilds/{guild_id}/roles")

    def get_guild_member(self, guild_id: str, user_id: str) -> dict:
        """One member (user + role ids); DiscordNotFound (10007) when not in the guild."""
        return self.request("GET", f"/guilds/{guild_id}/members/{user_id}")

    def iter_guild_members(self, guild_id: str, *, page_size: int = 1000) -> Iterator[dict]:
        """Every member, paging by user id (needs the GUILD_MEMBERS privileged intent)."""
        after = "0"
        while True:
            page = self.request(
                "GET", f"/guilds/{guild_id}/members", params={"limit": page_size, "after": after}
            )
            yield from page
            if len(page) < page_size:
                return
            after = page[-1]["user"]["id"]

    def add_member_role(self, guild_id: str, user_id: str, role_id: str, *, reason: str) -> None:
        """Give a member a role, with the reason shown in the audit log."""
        self.request("PUT", f"/guilds/{guild_id}/members/{user_id}/roles/{role_id}", reason=reason)

    def remove_member_role(self, guild_id: str, user_id: str, role_id: str, *, reason: str) -> None:
        """Take a role from a member, with the reason shown in the audit log."""
        self.request("DELETE", f"/guilds/{guild_id}/members/{user_id}/roles/{role_id}", reason=reason)

    # --- application commands --------------------------------------------------------------------
    def _commands_path(self, application_id: str, guild_id: str | None) -> str:
        if guild_id:
            return f"/applications/{application_id}/guilds/{guild_id}/commands"
        return f"/applications/{application_id}/commands"

    def bulk_overwrite_commands(
        self, application_id: str, commands: list[dict], *, guild_id: str | None = None
    ) -> list[dict]:
        """Replace every command (global, or of one guild) with ``commands``; returns them with ids."""
        return self.request("PUT", self._commands_path(application_id, guild_id), json=commands)

    def get_commands(self, application_id: str, *, guild_id: str | None = None) -> list[dict]:
        """The registered commands (global, or of one guild)."""
        return self.request("GET", self._commands_path(application_id, guild_id))

    # --- Linked Roles: the app's metadata schema (bot token), each member's connection (their token) ---
    def get_role_connection_metadata(self, application_id: str) -> list[dict]:
        """The role-connection metadata records registered for the application."""
        return self.request("GET", f"/applications/{application_id}/role-connections/metadata")

    def put_role_connection_metadata(self, application_id: str, records: list[dict]) -> list[dict]:
        """Replace the application's metadata records (at most five); returns them as Discord stored them."""
        return self.request("PUT", f"/applications/{application_id}/role-connections/metadata", json=records)

    def put_user_role_connection(
        self,
        application_id: str,
        *,
        access_token: str,
        platform_name: str | None,
        platform_username: str | None,
        metadata: Mapping[str, str],
    ) -> dict:
        """Set the member's role connection for the application (replaces it: a PUT is safe to repeat).

        Needs a user access token with the ``role_connections.write`` scope; per-token rate-limit buckets."""
        return self.request(
            "PUT",
            f"/users/@me/applications/{application_id}/role-connection",
            auth="bearer",
            bearer_token=access_token,
            json={
                "platform_name": platform_name,
                "platform_username": platform_username,
                "metadata": dict(metadata),
            },
        )

    # --- OAuth2 (form-encoded: Discord's token endpoints refuse JSON) --------------------------------
    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str | None = None) -> dict:
        """Trade an authorization code for tokens; DiscordError with ``error == "invalid_grant"`` on a bad code.

        Sent once: a code is single-use, so after a 5xx (Discord may have spent it) a repeat could only fail.
        """
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if code_verifier:
            form["code_verifier"] = code_verifier
        return self.request("POST", "/oauth2/token", auth="client", form=form, retry_server_errors=False)

    def refresh_access_token(self, *, refresh_token: str) -> dict:
        """New tokens for a refresh token; Discord rotates it, so store the returned ``refresh_token``.

        Sent once: a refresh whose answer was lost (a 5xx, a timeout) may have rotated the token already,
        so the caller decides what comes next (accounts.services.get_valid_access_token).
        """
        return self.request(
            "POST",
            "/oauth2/token",
            auth="client",
            form={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
            },
            retry_server_errors=False,
        )

    def revoke_token(self, *, token: str, token_type_hint: str | None = None) -> None:
        """Revoke a grant: Discord invalidates its access and refresh tokens whichever one is given."""
        form = {"token": token}
        if token_type_hint:
            form["token_type_hint"] = token_type_hint
        self.request("POST", "/oauth2/token/revoke", auth="client", form=form)

    def get_user_with_bearer(self, access_token: str) -> dict:
        """The user who granted ``access_token`` (``email`` only with the email scope)."""
        return self.request("GET", "/users/@me", auth="bearer", bearer_token=access_token)


def _code(body: Any) -> int | None:
    if isinstance(body, dict) and isinstance(body.get("code"), int):
        return body["code"]
    return None

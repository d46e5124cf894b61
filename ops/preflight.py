"""`manage.py preflight`: the deployment checklist of docs/deployment.md, checked against the running
configuration and against Discord.

One function per checklist item, each returning an Outcome (passed, warning or failed, with a one-sentence
fix); `run_preflight` runs them in checklist order into a Report. Discord is read through the one client
(discord_rest.client, and so the shared rate-limit governor) and only read: the one write is
`--fix-commands`, which registers the code's slash commands. Each Discord answer is asked for once and
shared; an item whose prerequisite failed (no accepted bot token, the bot not in the guild) is reported as
"not checked", a warning, instead of asking Discord again for a refusal already known: 401s and 403s
count towards Discord's invalid-request limit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import sentry_sdk.utils
from django.conf import settings
from django.core import checks as django_checks
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http.request import validate_host
from django.urls import reverse
from django.utils import timezone
from redis.exceptions import RedisError
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import AuditEvent
from accounts.selectors import oauth_state_problems, stored_discord_tokens_decrypt, token_encryption_problem
from accounts.services import record_audit_event
from dealscale.redis_client import get_redis
from dealscale.schedules import schedule_problems
from discord_rest import permissions
from discord_rest.client import (
    DiscordClient,
    DiscordError,
    DiscordForbidden,
    DiscordNotFound,
    DiscordUnauthorized,
)
from discordbot.commands_registry import command_differences, command_payloads, register_commands
from leaderboard.selectors import active_service_keys_readable
from linkedroles import metadata as linked_roles_metadata
from rolesync.selectors import role_names


class Status(StrEnum):
    PASSED = "passed"
    WARNING = "warning"
    FAILED = "failed"


EXIT_CODES = {Status.PASSED: 0, Status.WARNING: 1, Status.FAILED: 2}
# What the bot must be able to do in the moderators' and announcements channels: post its embeds.
POSTING = permissions.VIEW_CHANNEL | permissions.SEND_MESSAGES | permissions.EMBED_LINKS
TEXT_CHANNEL_TYPES = {0: "text", 5: "announcement"}
# Intents the bot needs that the portal must grant: role sync lists members over REST (GET
# /guilds/{id}/members needs GUILD_MEMBERS). Bots in under 100 servers get the _LIMITED flag
# (developers/resources/application.mdx, "Application Flags").
GATEWAY_GUILD_MEMBERS = 1 << 14
GATEWAY_GUILD_MEMBERS_LIMITED = 1 << 15
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "testserver"}
DEFAULT_SITE_URL = "http://127.0.0.1:8000"
# Django's own bar for a SECRET_KEY (security.W009): long, varied and not a generated placeholder.
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE = 5
MAX_LISTED = 5


@dataclass(frozen=True)
class Outcome:
    """What one check found: its status, what it saw and, unless it passed, the fix in one sentence."""

    status: Status
    detail: str
    fix: str = ""


def passed(detail: str) -> Outcome:
    return Outcome(Status.PASSED, detail)


def warning(detail: str, fix: str) -> Outcome:
    return Outcome(Status.WARNING, detail, fix)


def failed(detail: str, fix: str) -> Outcome:
    return Outcome(Status.FAILED, detail, fix)


@dataclass(frozen=True)
class CheckResult:
    """One checklist line."""

    key: str
    section: str
    label: str
    status: Status
    detail: str
    fix: str

    def as_dict(self) -> dict[str, str]:
        return {key: str(value) for key, value in asdict(self).items()}


@dataclass(frozen=True)
class Report:
    ran_at: datetime
    results: list[CheckResult]
    fixed_commands: bool = False

    @property
    def status(self) -> Status:
        statuses = {result.status for result in self.results}
        return next((s for s in (Status.FAILED, Status.WARNING) if s in statuses), Status.PASSED)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def count(self, status: Status) -> int:
        return sum(1 for result in self.results if result.status == status)

    def as_dict(self) -> dict[str, Any]:
        """The report as one JSON-ready document (what `preflight --json` prints)."""
        return {
            "status": str(self.status),
            "exit_code": self.exit_code,
            "ran_at": self.ran_at.isoformat(),
            "fixed_commands": self.fixed_commands,
            "counts": {str(status): self.count(status) for status in Status},
            "checks": [result.as_dict() for result in self.results],
        }


class NotChecked(Exception):
    """A prerequisite of the check failed, so it cannot tell anything about its own item."""

    def __init__(self, reason: str, fix: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fix = fix


def describe(error: DiscordError) -> str:
    """A Discord error as an operator reads it: "403 Missing Access (code 50001)", "401: Unauthorized"."""
    if not error.status:
        return f"no answer ({error.message})"
    text = error.message if error.message.startswith(str(error.status)) else f"{error.status} {error.message}"
    return f"{text} (code {error.code})" if error.code else text


@dataclass
class Preflight:
    """What the checks share: the options, the Discord client and Discord's answers, each asked for once."""

    fix_commands: bool = False
    actor: str = ""  # the shell user who runs the checklist
    client: DiscordClient = field(default_factory=DiscordClient)
    commands_fixed: bool = False
    database_reachable: bool | None = None
    answers: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    def _ask(self, name: str, call: Callable[[], Any]) -> Any:
        if name not in self.answers:
            try:
                self.answers[name] = call()
            except DiscordError as error:
                self.answers[name] = error
        answer = self.answers[name]
        if isinstance(answer, DiscordError):
            raise answer
        return answer

    @staticmethod
    def _needs(fetch: Callable[[], Any], what: str, fix: str) -> Any:
        try:
            return fetch()
        except DiscordError as error:
            raise NotChecked(f"needs {what}, and Discord answered {describe(error)}", fix) from error

    # --- what Discord says, with the prerequisites of each answer -----------------------------------
    def bot_user(self) -> dict:
        if not settings.DISCORD_BOT_TOKEN:
            raise NotChecked("DISCORD_BOT_TOKEN is not set", "Resolve «Bot token accepted» first.")
        return self._ask("bot_user", self.client.get_current_user)

    def accepted_bot_user(self) -> dict:
        return self._needs(self.bot_user, "an accepted bot token", "Resolve «Bot token accepted» first.")

    def application(self) -> dict:
        self.accepted_bot_user()
        return self._ask("application", self.client.get_current_application)

    def guild(self) -> dict:
        self.accepted_bot_user()
        if not settings.DISCORD_GUILD_ID:
            raise NotChecked("DISCORD_GUILD_ID is not set", "Resolve «Bot is in the guild» first.")
        return self._ask("guild", lambda: self.client.get_guild(settings.DISCORD_GUILD_ID))

    def bot_member(self) -> dict:
        guild = self.guild()
        return self._ask(
            "bot_member", lambda: self.client.get_guild_member(guild["id"], self.bot_user()["id"])
        )

    def member_guild(self) -> tuple[dict, dict]:
        """The guild and the bot's member in it; NotChecked when the bot is not a member."""
        fix = "Resolve «Bot is in the guild» first."
        return (
            self._needs(self.guild, "the bot in the guild", fix),
            self._needs(self.bot_member, "the bot in the guild", fix),
        )

    def channels(self) -> list[dict]:
        guild, _ = self.member_guild()
        return self._ask("channels", lambda: self.client.get_guild_channels(guild["id"]))

    def base_permissions(self) -> int:
        guild, member = self.member_guild()
        return permissions.base_permissions(
            guild=guild, roles=guild["roles"], member_role_ids=member["roles"], user_id=self.bot_user()["id"]
        )


# --- environment ---------------------------------------------------------------------------------------
def _database_is_embedded() -> bool:
    return "sqlite" in settings.DATABASES["default"]["ENGINE"]


REQUIRED_VARIABLES: list[tuple[str, Callable[[], bool]]] = [
    ("ALLOWED_HOSTS", lambda: any(host not in LOCAL_HOSTS for host in settings.ALLOWED_HOSTS)),
    ("CSRF_TRUSTED_ORIGINS", lambda: bool(settings.CSRF_TRUSTED_ORIGINS)),
    ("SITE_URL", lambda: settings.SITE_URL != DEFAULT_SITE_URL),
    ("DATABASE_URL", lambda: not _database_is_embedded()),
    ("REDIS_URL", lambda: bool(settings.REDIS_URL)),
    ("DISCORD_CLIENT_ID", lambda: bool(settings.DISCORD_CLIENT_ID)),
    ("DISCORD_CLIENT_SECRET", lambda: bool(settings.DISCORD_CLIENT_SECRET)),
    ("DISCORD_REDIRECT_URI", lambda: bool(settings.DISCORD_REDIRECT_URI)),
    ("DISCORD_BOT_TOKEN", lambda: bool(settings.DISCORD_BOT_TOKEN)),
    ("DISCORD_GUILD_ID", lambda: bool(settings.DISCORD_GUILD_ID)),
    (
        "DISCORD_TOKEN_ENCRYPTION_KEY",
        lambda: any(key.strip() for key in settings.DISCORD_TOKEN_ENCRYPTION_KEY),
    ),
]


def check_required_variables(ctx: Preflight) -> Outcome:
    missing = [name for name, is_set in REQUIRED_VARIABLES if not is_set()]
    if missing:
        return failed(
            f"not set: {', '.join(missing)}",
            "Set them in the environment or .env (each is described in .env.example and docs/deployment.md §2).",
        )
    return passed(f"all {len(REQUIRED_VARIABLES)} set (SECRET_KEY is checked next)")


def _secret_key_weakness(key: str) -> str | None:
    if key.startswith(("django-insecure-", "insecure-")):
        return "is a development placeholder"
    if len(key) < SECRET_KEY_MIN_LENGTH:
        return f"has {len(key)} characters (at least {SECRET_KEY_MIN_LENGTH} are needed)"
    if len(set(key)) < SECRET_KEY_MIN_UNIQUE:
        return f"uses {len(set(key))} distinct characters (at least {SECRET_KEY_MIN_UNIQUE} are needed)"
    return None


def check_secret_key(ctx: Preflight) -> Outcome:
    problems = []
    if weakness := _secret_key_weakness(settings.SECRET_KEY):
        problems.append(f"SECRET_KEY {weakness}")
    for number, fallback in enumerate(settings.SECRET_KEY_FALLBACKS, start=1):
        if weakness := _secret_key_weakness(fallback):
            problems.append(f"SECRET_KEY_FALLBACKS #{number} {weakness}")
    if problems:
        return failed(
            "; ".join(problems),
            "Generate a key with python -c 'import secrets; print(secrets.token_urlsafe(50))' and set it as "
            "SECRET_KEY, keeping the previous one in SECRET_KEY_FALLBACKS while sessions and service keys move over.",
        )
    return passed(f"{len(settings.SECRET_KEY)} characters, {len(settings.SECRET_KEY_FALLBACKS)} fallback(s)")


def check_https(ctx: Preflight) -> Outcome:
    hard: list[tuple[str, str]] = []
    soft: list[tuple[str, str]] = []
    if settings.DEBUG:
        hard.append(("DEBUG is on", "DEBUG=false"))
    if not settings.SESSION_COOKIE_SECURE or not settings.CSRF_COOKIE_SECURE:
        hard.append(("session or CSRF cookies may travel over http", "DEBUG=false"))
    if not settings.SITE_URL.startswith("https://"):
        hard.append((f"SITE_URL is {settings.SITE_URL}", "SITE_URL=https://<your host>"))
    plain = [origin for origin in settings.CSRF_TRUSTED_ORIGINS if not origin.startswith("https://")]
    if plain:
        hard.append(
            (f"CSRF_TRUSTED_ORIGINS has {', '.join(plain)}", "CSRF_TRUSTED_ORIGINS=https://<your host>")
        )
    if not settings.SECURE_SSL_REDIRECT:
        soft.append(
            (
                "SECURE_SSL_REDIRECT is off (fine only behind a proxy that redirects http itself)",
                "SECURE_SSL_REDIRECT=true",
            )
        )
    if settings.SECURE_HSTS_SECONDS <= 0:
        soft.append(("HSTS is off", "SECURE_HSTS_SECONDS=31536000"))
    problems = hard or soft
    if not problems:
        return passed(
            f"DEBUG off, secure cookies, HSTS {settings.SECURE_HSTS_SECONDS} s, SITE_URL {settings.SITE_URL}"
        )
    detail = "; ".join(found for found, _ in hard + soft)
    fix = "Set " + ", ".join(dict.fromkeys(assignment for _, assignment in hard + soft)) + "."
    return failed(detail, fix) if hard else warning(detail, fix)


def check_token_encryption(ctx: Preflight) -> Outcome:
    if problem := token_encryption_problem():
        return failed(
            problem,
            "Generate a key with python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' "
            "and set DISCORD_TOKEN_ENCRYPTION_KEY.",
        )
    keys = len([key for key in settings.DISCORD_TOKEN_ENCRYPTION_KEY if key.strip()])
    decrypts = stored_discord_tokens_decrypt()
    if decrypts is False:
        return failed(
            f"{keys} valid key(s), but a stored Discord token does not decrypt with any of them",
            "Put back the key that was removed, run python manage.py rotate_token_key, then drop the old key.",
        )
    if decrypts is None:
        return passed(f"{keys} valid key(s); no stored Discord token to try yet")
    return passed(f"{keys} valid key(s); the oldest and newest stored Discord tokens decrypt")


def check_sentry_dsn(ctx: Preflight) -> Outcome:
    dsn = settings.SENTRY_DSN
    if not dsn:
        return passed("not set: errors go to the logs only (Sentry is optional)")
    fix = "Copy the DSN from Sentry (Project settings → Client Keys) into SENTRY_DSN, or leave it empty."
    try:
        parsed = sentry_sdk.utils.Dsn(dsn)
    except sentry_sdk.utils.BadDsn as error:
        return failed(f"SENTRY_DSN is not a Sentry DSN: {error}", fix)
    if parsed.scheme != "https" and not settings.DEBUG:
        return warning(f"SENTRY_DSN sends errors over {parsed.scheme}", fix)
    return passed(f"project {parsed.project_id} at {parsed.host}")


def check_deploy_checks(ctx: Preflight) -> Outcome:
    messages = [
        message
        for message in django_checks.run_checks(include_deployment_checks=True)
        if message.level >= django_checks.WARNING and not message.is_silenced()
    ]
    if not messages:
        return passed("no issues")
    listed = ", ".join(str(message.id) for message in messages[:MAX_LISTED])
    more = f" and {len(messages) - MAX_LISTED} more" if len(messages) > MAX_LISTED else ""
    detail = f"{len(messages)} issue(s): {listed}{more}"
    fix = "Run python manage.py check --deploy and apply each hint."
    if any(message.level >= django_checks.ERROR for message in messages):
        return failed(detail, fix)
    return warning(detail, fix)


# --- data stores -----------------------------------------------------------------------------------------
def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def check_database(ctx: Preflight) -> Outcome:
    db = settings.DATABASES["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        ctx.database_reachable = False
        return failed(
            f"cannot query {db['NAME']}: {_first_line(error)}",
            "Check DATABASE_URL and that the database accepts connections from this host.",
        )
    ctx.database_reachable = True
    where = f" on {db['HOST']}" if db.get("HOST") else ""
    return passed(f"{connection.vendor} database {db['NAME']}{where} answers")


def check_redis(ctx: Preflight) -> Outcome:
    redis = get_redis()
    if redis is None:
        return warning(
            "REDIS_URL is not set: the embedded mode (file cache, locks per host, no shared rate limits)",
            "Set REDIS_URL to the production Redis.",
        )
    kwargs = redis.connection_pool.connection_kwargs
    where = f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"
    try:
        redis.ping()
    except RedisError as error:
        return failed(
            f"Redis at {where} does not answer: {error}", "Check REDIS_URL and that Redis accepts this host."
        )
    return passed(f"Redis at {where} answers")


def check_migrations(ctx: Preflight) -> Outcome:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        names = [f"{migration.app_label}.{migration.name}" for migration, _ in plan]
        more = f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else ""
        return failed(
            f"{len(names)} not applied: {', '.join(names[:MAX_LISTED])}{more}",
            "Back up the database, then run python manage.py migrate --noinput (docs/deployment.md §4).",
        )
    return passed("every migration is applied")


def check_beat_schedules(ctx: Preflight) -> Outcome:
    problems = schedule_problems()
    if problems.missing or problems.different:
        found = []
        if problems.missing:
            found.append(f"missing: {', '.join(problems.missing)}")
        if problems.different:
            found.append(f"not as dealscale/schedules.py says: {', '.join(problems.different)}")
        return failed("; ".join(found), "Run python manage.py migrate, which writes every beat schedule.")
    if problems.disabled:
        return warning(
            f"disabled in the admin: {', '.join(problems.disabled)}",
            "Enable them again in the admin (Periodic tasks) unless the pause is deliberate.",
        )
    return passed("every beat schedule is present and enabled")


# --- Discord ---------------------------------------------------------------------------------------------
def check_bot_token(ctx: Preflight) -> Outcome:
    if not settings.DISCORD_BOT_TOKEN:
        return failed(
            "DISCORD_BOT_TOKEN is not set",
            "Copy the token from the Developer Portal's Bot page into DISCORD_BOT_TOKEN.",
        )
    try:
        user = ctx.bot_user()
    except DiscordUnauthorized as error:
        return failed(
            f"Discord refused the token: GET /users/@me answered {describe(error)}",
            "Reset the token on the Developer Portal's Bot page and set DISCORD_BOT_TOKEN to the new one.",
        )
    if not user.get("bot"):
        return failed(
            f"the token belongs to the user {user.get('username')}, not to a bot",
            "Use the token of the application's bot (Developer Portal → Bot → Reset Token).",
        )
    return passed(f"the bot {user.get('username')} ({user['id']})")


def check_application(ctx: Preflight) -> Outcome:
    application = ctx.application()
    if settings.DISCORD_CLIENT_ID != application["id"]:
        return failed(
            f"the bot token belongs to application {application['id']}, but DISCORD_CLIENT_ID is "
            f"{settings.DISCORD_CLIENT_ID or 'empty'}",
            f"Set DISCORD_CLIENT_ID={application['id']}, or use the bot token of application {settings.DISCORD_CLIENT_ID}.",
        )
    return passed(f"application {application.get('name')} ({application['id']})")


def check_guild_membership(ctx: Preflight) -> Outcome:
    if not settings.DISCORD_GUILD_ID:
        return failed(
            "DISCORD_GUILD_ID is not set",
            "Set DISCORD_GUILD_ID to the server's id (Developer Mode → right-click the server → Copy Server ID).",
        )
    ctx.accepted_bot_user()
    fix = (
        "Invite the bot with the URL of docs/deployment.md §3 step 3, or correct DISCORD_GUILD_ID if it names "
        "another server."
    )
    try:
        guild = ctx.guild()
        ctx.bot_member()
    except (DiscordForbidden, DiscordNotFound) as error:
        return failed(
            f"the bot is not a member of guild {settings.DISCORD_GUILD_ID} ({describe(error)})", fix
        )
    return passed(f"member of {guild.get('name')} ({guild['id']})")


def check_manage_roles(ctx: Preflight) -> Outcome:
    guild, member = ctx.member_guild()
    base = ctx.base_permissions()
    if base & permissions.MANAGE_ROLES:
        return passed("the bot's roles grant Manage Roles")
    names = {role["id"]: role["name"] for role in guild["roles"]}
    held = ", ".join(f"«{names[r]}»" for r in member["roles"] if r in names) or "only @everyone"
    return failed(
        f"none of the bot's roles ({held}) grants Manage Roles, so role sync cannot give or take any role",
        "Give the bot's role Manage Roles in Server Settings → Roles.",
    )


def check_role_order(ctx: Preflight) -> Outcome:
    guild, member = ctx.member_guild()
    milestones = role_names()
    if not milestones:
        return warning(
            "no milestone is configured, so role sync has no role to give",
            "Add milestones in the admin, or import them with python manage.py milestones import <file>.",
        )
    roles = {role["id"]: role for role in guild["roles"]}
    held = [roles[r] for r in member["roles"] if r in roles]
    top = max(held, key=lambda role: role["position"], default=roles.get(guild["id"]))
    top_name, top_position = (top["name"], top["position"]) if top else ("@everyone", 0)
    below, unknown, managed = [], [], []
    for role_id, milestone in sorted(milestones.items(), key=lambda item: item[1]):
        role = roles.get(role_id)
        if role is None:
            unknown.append(f"«{milestone}» ({role_id})")
        elif role["managed"]:
            managed.append(f"«{role['name']}» of milestone «{milestone}»")
        # Discord sorts equal positions by id, in an order the docs do not pin down: equal is not above.
        elif role["position"] >= top_position:
            below.append(f"«{role['name']}» (position {role['position']}) of milestone «{milestone}»")
    if not (below or unknown or managed):
        return passed(
            f"«{top_name}» (position {top_position}) is above all {len(milestones)} milestone roles"
        )
    found, fixes = [], []
    if below:
        found.append(
            f"the bot's highest role «{top_name}» (position {top_position}) is not above {', '.join(below)}"
        )
        fixes.append(f"drag «{top_name}» above those roles in Server Settings → Roles")
    if unknown:
        found.append(f"no such role in the server for {', '.join(unknown)}")
        fixes.append("correct those milestones' Discord role ids in the admin")
    if managed:
        found.append(f"managed by an integration, so never assignable: {', '.join(managed)}")
        fixes.append("pick ordinary roles for those milestones")
    fix = "; ".join(fixes)
    return failed("; ".join(found), fix[0].upper() + fix[1:] + ".")


def _check_channel(ctx: Preflight, *, setting: str, purpose: str) -> Outcome:
    channel_id = getattr(settings, setting)
    if not channel_id:
        return warning(
            f"{setting} is not set: {purpose}",
            f"Set {setting} to the channel's id (Developer Mode → right-click the channel → Copy Channel ID).",
        )
    channel = next((c for c in ctx.channels() if c["id"] == str(channel_id)), None)
    if channel is None:
        return failed(
            f"channel {channel_id} is not among the channels the bot can see in the guild (deleted, in another "
            "server, or hidden from the bot's role)",
            f"Set {setting} to a channel of the guild and let the bot's role view it.",
        )
    name = channel.get("name", channel_id)
    if channel.get("type") not in TEXT_CHANNEL_TYPES:
        return failed(
            f"#{name} is not a text or announcement channel (type {channel.get('type')})",
            f"Set {setting} to a text channel.",
        )
    guild, member = ctx.member_guild()
    held = permissions.channel_permissions(
        ctx.base_permissions(),
        channel=channel,
        guild_id=guild["id"],
        member_role_ids=member["roles"],
        user_id=member["user"]["id"],
    )
    lacking = permissions.missing(permissions.effective_in_text_channel(held), POSTING)
    if lacking:
        return failed(
            f"in #{name} the bot lacks {', '.join(lacking)}",
            f"Allow the bot's role {', '.join(lacking)} in #{name} (Edit Channel → Permissions).",
        )
    return passed(f"#{name} ({channel_id}): the bot may view, post and embed")


def check_moderators_channel(ctx: Preflight) -> Outcome:
    return _check_channel(
        ctx,
        setting="DISCORD_MOD_CHANNEL_ID",
        purpose="credit requests are not posted for moderators to approve",
    )


def check_announcements_channel(ctx: Preflight) -> Outcome:
    return _check_channel(
        ctx,
        setting="DISCORD_ANNOUNCEMENTS_CHANNEL_ID",
        purpose="manage.py announce needs --channel every time",
    )


def check_intents(ctx: Preflight) -> Outcome:
    flags = ctx.application().get("flags")
    fix = "Switch on Server Members Intent in the Developer Portal (Bot → Privileged Gateway Intents)."
    if flags is None:
        return warning("Discord did not report the application's flags", fix)
    if flags & (GATEWAY_GUILD_MEMBERS | GATEWAY_GUILD_MEMBERS_LIMITED):
        return passed("Server Members Intent is on (role sync may list the guild's members)")
    return failed("the Server Members Intent is off: role sync cannot list the guild's members", fix)


def check_commands(ctx: Preflight) -> Outcome:
    application_id = ctx.application()["id"]
    local = command_payloads()
    guild_id = settings.DISCORD_GUILD_ID or None
    registered_global = ctx.client.get_commands(application_id)
    registered_guild: list[dict] = []
    if guild_id:
        try:
            registered_guild = ctx.client.get_commands(application_id, guild_id=guild_id)
        except (DiscordForbidden, DiscordNotFound):
            registered_guild = []  # the app is not in that guild: the guild check says so
    if not command_differences(local, registered_global):
        return passed(f"the {len(local)} commands registered globally match the code")
    if registered_guild and not command_differences(local, registered_guild):
        return passed(f"the {len(local)} commands registered in guild {guild_id} match the code")
    # Compare with where the commands live: the guild for a staging set-up, else the global scope.
    scope = guild_id if registered_guild and not registered_global else None
    where = f"in guild {guild_id}" if scope else "globally"
    differences = command_differences(local, registered_guild if scope else registered_global)
    more = f" and {len(differences) - MAX_LISTED} more" if len(differences) > MAX_LISTED else ""
    summary = "; ".join(differences[:MAX_LISTED]) + more
    if ctx.fix_commands:
        registered = register_commands(
            ctx.client, application_id=application_id, payloads=local, guild_id=scope
        )
        ctx.commands_fixed = True
        return passed(f"were stale {where} ({summary}); --fix-commands registered {len(registered)} commands")
    deploy = "python manage.py deploy_commands" + (f" --guild {scope}" if scope else "")
    return failed(f"stale {where}: {summary}", f"Run {deploy}, or run preflight again with --fix-commands.")


def check_linked_roles(ctx: Preflight) -> Outcome:
    """Linked Roles are optional: what is missing is a warning, never a failure."""
    # Asked only once the bot token is known to work (ctx.application() raises NotChecked otherwise).
    url = ctx.application().get("role_connections_verification_url")
    expected_url = f"{settings.SITE_URL.rstrip('/')}{reverse('linked-roles')}"
    local = [_metadata_fields(record) for record in linked_roles_metadata.payload()]
    at_discord = ctx.client.get_role_connection_metadata(settings.DISCORD_CLIENT_ID)
    registered = [_metadata_fields(record) for record in at_discord]
    problems, fixes = [], []
    if registered != local:
        problems.append(
            "no metadata is registered at Discord"
            if not registered
            else "the metadata at Discord differs from the code"
        )
        fixes.append("run python manage.py register_role_metadata")
    if url != expected_url:
        problems.append(f"the Verification URL is {url or 'not set'}")
        fixes.append(
            f"set Linked Roles Verification URL to {expected_url} in the Developer Portal (General Information)"
        )
    if problems:
        return warning("; ".join(problems), f"To offer Linked Roles, {' and '.join(fixes)}.")
    return passed(f"the {len(local)} metadata records match the code; Verification URL {url}")


def _metadata_fields(record: dict) -> dict:
    return {key: record.get(key) for key in ("type", "key", "name", "description")}


def check_redirect_uri(ctx: Preflight) -> Outcome:
    callback = reverse("discord_callback")
    uri = settings.DISCORD_REDIRECT_URI
    if not uri:
        return failed(
            "DISCORD_REDIRECT_URI is not set",
            f"Set DISCORD_REDIRECT_URI=https://<your host>{callback} and add exactly that URL in the Developer "
            "Portal (OAuth2 → Redirects).",
        )
    parts = urlsplit(uri)
    problems = []
    if parts.scheme != "https" and not settings.DEBUG:
        problems.append(f"uses {parts.scheme or 'no scheme'}, not https")
    if not parts.hostname or not validate_host(parts.hostname, settings.ALLOWED_HOSTS):
        problems.append(f"its host {parts.hostname or '(none)'} is not in ALLOWED_HOSTS")
    if parts.path != callback or parts.query or parts.fragment:
        problems.append(f"its path is not the sign-in callback {callback}")
    if problems:
        expected = f"https://{parts.hostname or '<your host>'}{callback}"
        return failed(
            f"{uri} " + "; ".join(problems),
            f"Set DISCORD_REDIRECT_URI={expected} and add exactly that URL in the Developer Portal (OAuth2 → "
            "Redirects).",
        )
    try:
        registered = ctx.application().get("redirect_uris")
    except (NotChecked, DiscordError):
        registered = None
    if registered is None:
        return passed(
            f"{uri} is https on an allowed host; Discord's portal setting cannot be read from here, so make sure "
            f"OAuth2 → Redirects lists exactly: {uri}"
        )
    if uri not in registered:
        return failed(
            f"{uri} is not among the redirects registered at Discord ({', '.join(registered) or 'none'})",
            f"Add exactly {uri} in the Developer Portal (OAuth2 → Redirects).",
        )
    return passed(f"{uri} is https, on an allowed host and registered at Discord")


# --- security review ------------------------------------------------------------------------------------
def check_oauth_state(ctx: Preflight) -> Outcome:
    if problems := oauth_state_problems():
        return failed(
            "; ".join(problems),
            "Keep allauth's Discord provider with state on and SOCIALACCOUNT_LOGIN_ON_GET = False.",
        )
    return passed("every Discord sign-in carries a random state bound to the session, and starts with a POST")


def check_service_key(ctx: Preflight) -> Outcome:
    keys = active_service_keys_readable()
    if not keys:
        return failed(
            "no active service key: the DealScale platform cannot post score events",
            "Create one with python manage.py create_service_key <name> and give its key and secret to the platform.",
        )
    unreadable = sorted(name for name, readable in keys.items() if not readable)
    if unreadable:
        return failed(
            f"the signing secret of {', '.join(unreadable)} no longer decrypts (SECRET_KEY changed without the old "
            "key in SECRET_KEY_FALLBACKS)",
            "Put the previous SECRET_KEY back in SECRET_KEY_FALLBACKS, or issue new keys with create_service_key.",
        )
    return passed(f"{len(keys)} active: {', '.join(sorted(keys))}")


def check_throttles(ctx: Preflight) -> Outcome:
    rest: dict[str, Any] = settings.REST_FRAMEWORK
    rates: dict[str, str | None] = rest.get("DEFAULT_THROTTLE_RATES") or {}
    hard, soft = [], []
    if not rest.get("DEFAULT_THROTTLE_CLASSES"):
        hard.append("REST_FRAMEWORK has no DEFAULT_THROTTLE_CLASSES")
    for scope in ("user", "ip", "score_events"):
        rate = rates.get(scope)
        try:
            SimpleRateThrottle.parse_rate(None, rate)  # type: ignore[arg-type]
        except (ValueError, KeyError, IndexError, AttributeError):
            hard.append(f"the {scope} rate {rate!r} is not N/second|minute|hour|day")
        else:
            if not rate:
                hard.append(f"no {scope} rate")
    if not settings.ACCOUNT_RATE_LIMITS:
        hard.append("allauth's login and signup limits (ACCOUNT_RATE_LIMITS) are off")
    backend = settings.CACHES["default"]["BACKEND"]
    if "redis" not in backend.lower():
        soft.append(f"throttles count in {backend.rsplit('.', 1)[-1]}, per host rather than shared")
    if hard:
        return failed(
            "; ".join(hard + soft), "Restore the throttle settings of dealscale/settings.py (API_THROTTLE_*)."
        )
    if soft:
        return warning("; ".join(soft), "Set REDIS_URL so every web process counts in the same buckets.")
    return passed(
        f"user {rates['user']}, ip {rates['ip']}, score events {rates['score_events']}, counted in Redis; "
        "allauth's login limits on"
    )


def check_audit_log(ctx: Preflight) -> Outcome:
    event = record_audit_event(
        actor=ctx.actor,
        action="ops.preflight_ran",
        source=AuditEvent.Source.CLI,
        data={"fix_commands": ctx.fix_commands},
    )
    return passed(f"wrote audit event #{event.pk} (ops.preflight_ran)")


@dataclass(frozen=True)
class Check:
    key: str
    section: str
    label: str
    function: Callable[[Preflight], Outcome]

    def run(self, ctx: Preflight) -> CheckResult:
        try:
            outcome = self.function(ctx)
        except NotChecked as skipped:
            outcome = warning(f"not checked: {skipped.reason}", skipped.fix)
        except DiscordError as error:
            outcome = failed(
                f"Discord answered {describe(error)}",
                "Check the network to Discord and Discord's status page, then run preflight again.",
            )
        except DatabaseError as error:
            if ctx.database_reachable is False:
                outcome = warning(
                    "not checked: the database is unreachable", "Resolve «Database reachable» first."
                )
            else:
                outcome = failed(
                    f"database error: {_first_line(error)}", "Check the database, then run preflight again."
                )
        except RedisError as error:
            outcome = failed(f"Redis error: {error}", "Check Redis, then run preflight again.")
        return CheckResult(self.key, self.section, self.label, outcome.status, outcome.detail, outcome.fix)


ENVIRONMENT, DATA, DISCORD, SECURITY = "Environment", "Database and Redis", "Discord", "Security review"
CHECKS = [
    Check("env.required", ENVIRONMENT, "Required variables", check_required_variables),
    Check("env.secret_key", ENVIRONMENT, "SECRET_KEY strength", check_secret_key),
    Check("env.https", ENVIRONMENT, "DEBUG off, HTTPS on", check_https),
    Check("env.token_encryption", ENVIRONMENT, "Token encryption key", check_token_encryption),
    Check("env.sentry", ENVIRONMENT, "Sentry DSN", check_sentry_dsn),
    Check("env.check_deploy", ENVIRONMENT, "manage.py check --deploy", check_deploy_checks),
    Check("data.database", DATA, "Database reachable", check_database),
    Check("data.redis", DATA, "Redis reachable", check_redis),
    Check("data.migrations", DATA, "Migrations applied", check_migrations),
    Check("data.beat", DATA, "Beat schedules", check_beat_schedules),
    Check("discord.token", DISCORD, "Bot token accepted", check_bot_token),
    Check("discord.application", DISCORD, "Client id is the bot's application", check_application),
    Check("discord.guild", DISCORD, "Bot is in the guild", check_guild_membership),
    Check("discord.manage_roles", DISCORD, "Bot has Manage Roles", check_manage_roles),
    Check("discord.role_order", DISCORD, "Bot's role above the milestone roles", check_role_order),
    Check("discord.moderators_channel", DISCORD, "Moderators' channel", check_moderators_channel),
    Check("discord.announcements_channel", DISCORD, "Announcements channel", check_announcements_channel),
    Check("discord.intents", DISCORD, "Privileged intents", check_intents),
    Check("discord.commands", DISCORD, "Slash commands match the code", check_commands),
    Check("discord.redirect_uri", DISCORD, "OAuth redirect URI", check_redirect_uri),
    Check("discord.linked_roles", DISCORD, "Linked Roles metadata and Verification URL", check_linked_roles),
    Check("security.oauth_state", SECURITY, "OAuth state (allauth)", check_oauth_state),
    Check("security.service_key", SECURITY, "Score webhook service key", check_service_key),
    Check("security.throttles", SECURITY, "Throttles enabled", check_throttles),
    Check("security.audit_log", SECURITY, "Audit log writing", check_audit_log),
]


def run_preflight(
    *, fix_commands: bool = False, actor: str = "", client: DiscordClient | None = None
) -> Report:
    """Run every check in checklist order. Only `fix_commands` writes to Discord (the slash commands)."""
    ctx = Preflight(fix_commands=fix_commands, actor=actor, client=client or DiscordClient(max_retries=2))
    results = [check.run(ctx) for check in CHECKS]
    return Report(ran_at=timezone.now(), results=results, fixed_commands=ctx.commands_fixed)

"""`manage.py preflight` against the fake Discord: a correct set-up passes, each misconfiguration fails with
its own line and fix, exit codes 0/1/2, the --json document, --fix-commands, and the dashboard's copy."""

import json
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from accounts.models import AuditEvent, DiscordToken
from accounts.tests.factories import DiscordAccountFactory, StaffFactory
from discord_rest import permissions
from discord_sandbox import BOT_ROLE_ID, GUILD_ID
from discordbot.commands_registry import command_payloads
from leaderboard.models import ServiceKey
from leaderboard.services import create_service_key, revoke_service_key
from ops.models import PreflightRun
from ops.preflight import CHECKS
from rolesync.tests.factories import MilestoneFactory

pytestmark = pytest.mark.django_db

HOST = "discord.dealscale.example"
REDIRECT_URI = f"https://{HOST}/accounts/discord/login/callback/"
MOD_CHANNEL_ID = "1300000000000000002"
ANNOUNCEMENTS_CHANNEL_ID = "1300000000000000003"
STRONG_SECRET_KEY = "pf-" + "Zq8rT2vXw9yB4nM6kL1pS3dF5gH7jQ0aC" * 2
DISCORD_KEYS = {check.key for check in CHECKS if check.key.startswith("discord.")}


@pytest.fixture
def production(settings, fake_discord):
    """A correct production set-up: settings as docs/deployment.md §2 says, a guild as §3 says."""
    settings.DEBUG = False
    settings.SECRET_KEY = STRONG_SECRET_KEY
    settings.ALLOWED_HOSTS = [HOST]
    settings.CSRF_TRUSTED_ORIGINS = [f"https://{HOST}"]
    settings.SITE_URL = f"https://{HOST}"
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = settings.SECURE_HSTS_PRELOAD = True
    settings.DISCORD_REDIRECT_URI = REDIRECT_URI
    settings.DISCORD_TOKEN_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    settings.DISCORD_MOD_CHANNEL_ID = MOD_CHANNEL_ID
    settings.DISCORD_ANNOUNCEMENTS_CHANNEL_ID = ANNOUNCEMENTS_CHANNEL_ID
    settings.SENTRY_DSN = "https://abc123@o1.ingest.sentry.io/42"
    # The fake Discord listens on 127.0.0.1, which the sandbox check (dealscale.E001) rightly refuses in
    # production; here it stands in for discord.com, so that one check is silenced.
    settings.SILENCED_SYSTEM_CHECKS = [*settings.SILENCED_SYSTEM_CHECKS, "dealscale.E001"]

    fake_discord.redirect_uris = [REDIRECT_URI]
    fake_discord.add_channel(GUILD_ID, name="moderators", channel_id=MOD_CHANNEL_ID)
    fake_discord.add_channel(
        GUILD_ID, name="announcements", channel_id=ANNOUNCEMENTS_CHANNEL_ID, channel_type=5
    )
    gold = fake_discord.add_role(name="Gold", position=3)
    MilestoneFactory(name="Gold tier", discord_role_id=gold["id"])
    create_service_key(name="platform")
    call_command("deploy_commands", stdout=StringIO())
    call_command("register_role_metadata", stdout=StringIO())
    fake_discord.state.role_connections_verification_url = f"https://{HOST}/discord/linked-roles"
    fake_discord.requests.clear()
    return fake_discord


def preflight(*args: str) -> tuple[int, str]:
    """Run the command; returns its exit code and what it printed."""
    out = StringIO()
    try:
        call_command("preflight", *args, stdout=out, stderr=StringIO())
    except SystemExit as exit_:
        return int(exit_.code), out.getvalue()
    return 0, out.getvalue()


def checks(*args: str) -> tuple[int, dict[str, dict]]:
    code, out = preflight("--json", *args)
    return code, {check["key"]: check for check in json.loads(out)["checks"]}


def line(output: str, label: str) -> str:
    return next(row for row in output.splitlines() if f"  {label}: " in row)


def not_passed(results: dict[str, dict]) -> dict[str, str]:
    return {key: check["status"] for key, check in results.items() if check["status"] != "passed"}


# --- a correct set-up --------------------------------------------------------------------------------
def test_a_correct_set_up_passes_every_check_and_exits_0(production):
    code, output = preflight()
    assert code == 0, output
    assert f"{len(CHECKS)} checks: {len(CHECKS)} passed, 0 warning(s), 0 failed." in output
    assert "FAIL" not in output and "WARN" not in output
    assert line(output, "Bot's role above the milestone roles").startswith("  PASS  ")


def test_it_only_reads_discord(production):
    preflight()
    assert production.requests, "preflight asked Discord nothing"
    assert {request.method for request in production.requests} == {"GET"}
    assert {request.route for request in production.requests} == {
        "/users/@me",
        "/applications/@me",
        "/guilds/{guild_id}",
        "/guilds/{guild_id}/members/{user_id}",
        "/guilds/{guild_id}/channels",
        "/applications/{application_id}/commands",
        "/applications/{application_id}/guilds/{guild_id}/commands",
        "/applications/{application_id}/role-connections/metadata",
    }
    # Each answer is asked for once and shared by the checks that need it.
    assert len(production.requests_to("GET", "/guilds/{guild_id}")) == 1


# --- each misconfiguration, its own line and fix --------------------------------------------------------
def test_a_wrong_token_fails_once_and_the_checks_that_need_it_say_they_were_not_checked(production, settings):
    settings.DISCORD_BOT_TOKEN = "not-the-token"
    code, results = checks()
    assert code == 2
    token = results["discord.token"]
    assert token["status"] == "failed"
    assert "401" in token["detail"]
    assert "Reset the token" in token["fix"]
    for key in DISCORD_KEYS - {"discord.token", "discord.redirect_uri"}:
        assert results[key]["status"] == "warning", key
        assert results[key]["detail"].startswith("not checked: needs an accepted bot token"), key
    # One refused call, not one per check: 401s count towards Discord's invalid-request limit.
    assert [(r.method, r.route, r.status) for r in production.requests] == [("GET", "/users/@me", 401)]


def test_the_bot_outside_the_guild_fails_the_guild_line(production):
    del production.members[GUILD_ID][production.bot_user["id"]]
    code, results = checks()
    assert code == 2
    guild = results["discord.guild"]
    assert guild["status"] == "failed"
    assert f"not a member of guild {GUILD_ID}" in guild["detail"]
    assert "Invite the bot" in guild["fix"]
    for key in ("discord.manage_roles", "discord.role_order", "discord.moderators_channel"):
        assert results[key]["status"] == "warning"
        assert results[key]["detail"].startswith("not checked: needs the bot in the guild")


def test_missing_manage_roles_fails_its_line(production):
    production.roles[GUILD_ID][BOT_ROLE_ID]["permissions"] = str(permissions.VIEW_CHANNEL)
    code, results = checks()
    assert code == 2
    assert not_passed(results) == {"discord.manage_roles": "failed"}
    assert "«DealScale»" in results["discord.manage_roles"]["detail"]
    assert (
        results["discord.manage_roles"]["fix"]
        == "Give the bot's role Manage Roles in Server Settings → Roles."
    )


def test_administrator_grants_manage_roles(production):
    production.roles[GUILD_ID][BOT_ROLE_ID]["permissions"] = str(permissions.ADMINISTRATOR)
    _, results = checks()
    assert results["discord.manage_roles"]["status"] == "passed"


def test_a_milestone_role_above_the_bot_is_named_with_the_fix(production):
    legend = production.add_role(name="Legend", position=11)
    MilestoneFactory(name="Legend tier", discord_role_id=legend["id"])
    code, results = checks()
    assert code == 2
    assert not_passed(results) == {"discord.role_order": "failed"}
    order = results["discord.role_order"]
    assert "«Legend» (position 11) of milestone «Legend tier»" in order["detail"]
    assert "Gold" not in order["detail"]
    assert order["fix"] == "Drag «DealScale» above those roles in Server Settings → Roles."


def test_milestone_roles_that_are_missing_or_managed_are_named_too(production):
    MilestoneFactory(name="Ghost tier", discord_role_id="1799999999999999999")
    booster = production.add_role(name="Server Booster", position=2, managed=True)
    MilestoneFactory(name="Boost tier", discord_role_id=booster["id"])
    _, results = checks()
    order = results["discord.role_order"]
    assert order["status"] == "failed"
    assert "«Ghost tier» (1799999999999999999)" in order["detail"]
    assert "«Server Booster» of milestone «Boost tier»" in order["detail"]


def test_a_missing_channel_fails_its_line(production, settings):
    settings.DISCORD_MOD_CHANNEL_ID = "1399999999999999999"
    code, results = checks()
    assert code == 2
    assert not_passed(results) == {"discord.moderators_channel": "failed"}
    assert (
        "channel 1399999999999999999 is not among the channels"
        in results["discord.moderators_channel"]["detail"]
    )
    assert "DISCORD_MOD_CHANNEL_ID" in results["discord.moderators_channel"]["fix"]


def test_a_channel_hidden_from_the_bot_counts_as_missing(production):
    hidden = {"id": GUILD_ID, "type": 0, "allow": "0", "deny": str(permissions.VIEW_CHANNEL)}
    production.channels[ANNOUNCEMENTS_CHANNEL_ID]["permission_overwrites"] = [hidden]
    _, results = checks()
    assert results["discord.announcements_channel"]["status"] == "failed"
    assert "hidden from the bot's role" in results["discord.announcements_channel"]["detail"]


def test_channel_overwrites_that_stop_the_bot_posting_embeds_fail_with_the_missing_permissions(production):
    production.channels[MOD_CHANNEL_ID]["permission_overwrites"] = [
        {"id": BOT_ROLE_ID, "type": 0, "allow": "0", "deny": str(permissions.EMBED_LINKS)}
    ]
    _, results = checks()
    mods = results["discord.moderators_channel"]
    assert mods["status"] == "failed"
    assert mods["detail"] == "in #moderators the bot lacks Embed Links"
    assert mods["fix"] == "Allow the bot's role Embed Links in #moderators (Edit Channel → Permissions)."


def test_a_member_overwrite_for_the_bot_wins_over_a_role_deny(production):
    bot_id = production.bot_user["id"]
    production.channels[MOD_CHANNEL_ID]["permission_overwrites"] = [
        {"id": GUILD_ID, "type": 0, "allow": "0", "deny": str(permissions.SEND_MESSAGES)},
        {"id": bot_id, "type": 1, "allow": str(permissions.SEND_MESSAGES), "deny": "0"},
    ]
    _, results = checks()
    assert results["discord.moderators_channel"]["status"] == "passed"


def test_stale_commands_fail_and_name_what_differs(production):
    commands = production.global_commands
    commands[:] = [c for c in commands if c["name"] != "link"]
    next(c for c in commands if c["name"] == "credits")["description"] = "An older description"
    commands.append(dict(commands[0], id="1600000000000000001", name="retired"))
    code, results = checks()
    assert code == 2
    stale = results["discord.commands"]
    assert stale["status"] == "failed"
    assert stale["detail"] == (
        "stale globally: /credits differs in description; /link is not registered; "
        "/retired is registered but no longer in the code"
    )
    assert stale["fix"] == "Run python manage.py deploy_commands, or run preflight again with --fix-commands."
    assert not production.requests_to("PUT")


def test_fix_commands_registers_the_code_s_commands_and_then_passes(production):
    production.global_commands.clear()
    code, results = checks("--fix-commands")
    assert code == 0
    assert results["discord.commands"]["status"] == "passed"
    assert "--fix-commands registered" in results["discord.commands"]["detail"]
    assert len(production.requests_to("PUT", "/applications/{application_id}/commands")) == 1
    assert {c["name"] for c in production.global_commands} == {p["name"] for p in command_payloads()}
    assert PreflightRun.objects.get().fixed_commands is True
    # A second run finds them up to date and sends nothing.
    production.requests.clear()
    assert checks("--fix-commands")[0] == 0
    assert not production.requests_to("PUT")


def test_commands_registered_in_the_guild_only_count_for_a_staging_set_up(production):
    production.guild_commands[GUILD_ID] = [dict(c, guild_id=GUILD_ID) for c in production.global_commands]
    production.global_commands.clear()
    _, results = checks()
    assert results["discord.commands"]["status"] == "passed"
    assert f"registered in guild {GUILD_ID}" in results["discord.commands"]["detail"]


def test_an_http_redirect_uri_in_production_fails_with_the_https_value_to_set(production, settings):
    settings.DISCORD_REDIRECT_URI = f"http://{HOST}/accounts/discord/login/callback/"
    code, results = checks()
    assert code == 2
    redirect = results["discord.redirect_uri"]
    assert redirect["status"] == "failed"
    assert "uses http, not https" in redirect["detail"]
    assert redirect["fix"].startswith(f"Set DISCORD_REDIRECT_URI={REDIRECT_URI} ")


def test_a_redirect_uri_on_a_host_the_site_does_not_serve_fails(production, settings):
    settings.DISCORD_REDIRECT_URI = "https://elsewhere.example/accounts/discord/login/callback/"
    _, results = checks()
    assert "its host elsewhere.example is not in ALLOWED_HOSTS" in results["discord.redirect_uri"]["detail"]


def test_a_redirect_uri_missing_from_discord_s_registered_list_fails(production):
    production.redirect_uris = ["https://staging.dealscale.example/accounts/discord/login/callback/"]
    _, results = checks()
    redirect = results["discord.redirect_uri"]
    assert redirect["status"] == "failed"
    assert redirect["fix"] == f"Add exactly {REDIRECT_URI} in the Developer Portal (OAuth2 → Redirects)."


def test_when_discord_does_not_tell_the_redirects_it_says_so_and_prints_the_value_to_paste(production):
    production.redirect_uris = None
    code, output = preflight()
    assert code == 0
    assert line(output, "OAuth redirect URI").endswith(
        f"Discord's portal setting cannot be read from here, so make sure OAuth2 → Redirects lists exactly: "
        f"{REDIRECT_URI}"
    )


def test_the_server_members_intent_off_fails(production):
    production.application_flags = 0
    _, results = checks()
    assert results["discord.intents"]["status"] == "failed"
    assert "Server Members Intent" in results["discord.intents"]["fix"]


def test_a_client_id_of_another_application_fails(production, settings):
    settings.DISCORD_CLIENT_ID = "1100000000000000999"
    _, results = checks()
    application = results["discord.application"]
    assert application["status"] == "failed"
    assert application["fix"].startswith(f"Set DISCORD_CLIENT_ID={production.application_id}")


def test_discord_down_fails_the_token_line_with_discord_s_answer(production):
    production.fail_next("GET", "/users/@me", status=503, times=10)
    code, results = checks()
    assert code == 2
    assert results["discord.token"]["status"] == "failed"
    assert results["discord.token"]["detail"].startswith("Discord answered 503")


# --- environment, data stores, security review ---------------------------------------------------------
def test_missing_required_variables_are_listed(production, settings):
    settings.REDIS_URL = ""
    settings.DISCORD_CLIENT_SECRET = ""
    _, results = checks()
    assert results["env.required"]["status"] == "failed"
    assert results["env.required"]["detail"] == "not set: REDIS_URL, DISCORD_CLIENT_SECRET"


def test_a_weak_secret_key_fails(production, settings):
    settings.SECRET_KEY = "django-insecure-" + "x" * 50
    settings.SECRET_KEY_FALLBACKS = ["short"]
    _, results = checks()
    secret = results["env.secret_key"]
    assert secret["status"] == "failed"
    assert "SECRET_KEY is a development placeholder" in secret["detail"]
    assert "SECRET_KEY_FALLBACKS #1 has 5 characters" in secret["detail"]


def test_debug_on_fails_the_https_line(production, settings):
    settings.DEBUG = True
    _, results = checks()
    assert results["env.https"]["status"] == "failed"
    assert results["env.https"]["fix"] == "Set DEBUG=false."


def test_a_stored_token_no_key_decrypts_fails_the_token_key_line(production, settings):
    account = DiscordAccountFactory()
    DiscordToken.objects.create(
        social_account=account, access_token_encrypted="access", refresh_token_encrypted="r"
    )
    assert checks()[1]["env.token_encryption"]["status"] == "passed"
    settings.DISCORD_TOKEN_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    token_line = checks()[1]["env.token_encryption"]
    assert token_line["status"] == "failed"
    assert "does not decrypt" in token_line["detail"]


def test_an_invalid_token_key_fails(production, settings):
    settings.DISCORD_TOKEN_ENCRYPTION_KEY = ["not-a-fernet-key"]
    assert checks()[1]["env.token_encryption"]["status"] == "failed"


def test_a_malformed_sentry_dsn_fails(production, settings):
    settings.SENTRY_DSN = "https://o1.ingest.sentry.io/42"
    _, results = checks()
    assert results["env.sentry"]["status"] == "failed"
    assert "Missing public key" in results["env.sentry"]["detail"]


def test_deploy_check_warnings_make_a_warning(production, settings):
    settings.SECURE_HSTS_PRELOAD = False
    code, results = checks()
    assert code == 1
    assert results["env.check_deploy"]["status"] == "warning"
    assert "security.W021" in results["env.check_deploy"]["detail"]


def test_a_disabled_beat_schedule_is_a_warning_and_a_missing_one_a_failure(production):
    PeriodicTask.objects.filter(name="discord-role-sync").update(enabled=False)
    code, results = checks()
    assert code == 1
    assert results["data.beat"]["status"] == "warning"
    assert results["data.beat"]["detail"] == "disabled in the admin: discord-role-sync"
    PeriodicTask.objects.filter(name="alerts-evaluate").delete()
    assert checks()[1]["data.beat"]["detail"] == "missing: alerts-evaluate"


def test_no_active_service_key_fails(production):
    revoke_service_key(service_key_id=ServiceKey.objects.get(name="platform").pk, actor=None)
    _, results = checks()
    assert results["security.service_key"]["status"] == "failed"
    assert "create_service_key" in results["security.service_key"]["fix"]


def test_throttles_switched_off_fail(production, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}
    _, results = checks()
    assert results["security.throttles"]["status"] == "failed"


def test_each_run_writes_an_audit_event(production):
    preflight()
    event = AuditEvent.objects.get(action="ops.preflight_ran")
    assert event.source == "cli"
    assert event.data == {"operator": event.data["operator"], "fix_commands": False}


def test_warnings_alone_exit_1(production, settings):
    settings.DISCORD_ANNOUNCEMENTS_CHANNEL_ID = ""
    code, output = preflight()
    assert code == 1
    assert line(output, "Announcements channel").startswith(
        "  WARN  Announcements channel: DISCORD_ANNOUNCEMENTS_CHANNEL_ID is not set"
    )


def test_each_line_says_status_label_detail_and_fix(production, settings):
    settings.DISCORD_BOT_TOKEN = "not-the-token"
    _, output = preflight()
    assert line(output, "Bot token accepted") == (
        "  FAIL  Bot token accepted: Discord refused the token: GET /users/@me answered 401: Unauthorized. "
        "Fix: Reset the token on the Developer Portal's Bot page and set DISCORD_BOT_TOKEN to the new one."
    )
    assert (
        output.splitlines()[-1] == f"{len(CHECKS)} checks: {len(CHECKS) - 10} passed, 9 warning(s), 1 failed."
    )


# --- the JSON document and the dashboard -------------------------------------------------------------
def test_json_prints_the_same_results_as_one_document(production, settings):
    settings.DISCORD_ANNOUNCEMENTS_CHANNEL_ID = ""
    code, out = preflight("--json")
    document = json.loads(out)
    assert code == document["exit_code"] == 1
    assert set(document) == {"status", "exit_code", "ran_at", "fixed_commands", "counts", "checks"}
    assert document["status"] == "warning"
    assert document["fixed_commands"] is False
    assert document["counts"] == {"passed": len(CHECKS) - 1, "warning": 1, "failed": 0}
    assert [c["key"] for c in document["checks"]] == [check.key for check in CHECKS]
    for check in document["checks"]:
        assert set(check) == {"key", "section", "label", "status", "detail", "fix"}
        assert check["status"] in {"passed", "warning", "failed"}
        assert bool(check["fix"]) == (check["status"] != "passed")
    assert {c["section"] for c in document["checks"]} == {
        "Environment",
        "Database and Redis",
        "Discord",
        "Security review",
    }


def test_every_run_is_stored_for_the_dashboard(production, settings):
    settings.DISCORD_MOD_CHANNEL_ID = "1399999999999999999"
    preflight()
    run = PreflightRun.objects.get()
    assert (run.status, run.failures, run.warnings, run.passed) == ("failed", 1, 0, len(CHECKS) - 1)
    assert [line["key"] for line in run.problems] == ["discord.moderators_channel"]
    assert run.operator


def test_the_dashboard_shows_the_last_preflight_and_when_it_ran(production, settings, client):
    settings.DISCORD_MOD_CHANNEL_ID = "1399999999999999999"
    preflight()
    run = PreflightRun.objects.get()
    client.force_login(StaffFactory(is_superuser=True))
    page = client.get("/admin/discord-health/", secure=True, HTTP_HOST=HOST).content.decode()
    assert "Last preflight" in page
    assert f'data-preflight-ran-at="{run.ran_at.isoformat()}"' in page
    assert "Moderators&#x27; channel" in page
    assert "Set DISCORD_MOD_CHANNEL_ID to a channel of the guild" in page


def test_the_dashboard_says_when_preflight_never_ran(client, settings):
    client.force_login(StaffFactory(is_superuser=True))
    page = client.get("/admin/discord-health/").content.decode()
    assert "Never run against this database" in page


def test_linked_roles_not_set_up_is_a_warning_with_both_fixes(production):
    production.state.role_connection_metadata = []
    production.state.role_connections_verification_url = None

    code, results = checks()

    assert code == 1 and not_passed(results) == {"discord.linked_roles": "warning"}
    detail, fix = results["discord.linked_roles"]["detail"], results["discord.linked_roles"]["fix"]
    assert detail == "no metadata is registered at Discord; the Verification URL is not set"
    assert "python manage.py register_role_metadata" in fix
    assert f"https://{HOST}/discord/linked-roles" in fix


def test_linked_roles_metadata_that_differs_from_the_code_is_named(production):
    production.state.role_connection_metadata[0]["name"] = "Old name"

    code, results = checks()

    assert code == 1
    assert results["discord.linked_roles"]["detail"] == "the metadata at Discord differs from the code"

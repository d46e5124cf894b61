"""deploy_commands and announce against the fake Discord."""

import copy
import getpass
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import AuditEvent
from discord_sandbox import APPLICATION_ID, DEFAULT_CHANNEL_ID, GUILD_ID
from discordbot.commands_registry import command_differences, command_payloads, payload_hash
from discordbot.models import CommandRegistration

pytestmark = pytest.mark.django_db

GLOBAL_ROUTE = "/applications/{application_id}/commands"
GUILD_ROUTE = "/applications/{application_id}/guilds/{guild_id}/commands"


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_the_payloads_are_the_seeds_five_commands_with_their_options():
    payloads = {payload["name"]: payload for payload in command_payloads()}

    assert sorted(payloads) == ["credits", "leaderboard", "link", "rank", "request-credits"]
    leaderboard = {option["name"]: option for option in payloads["leaderboard"]["options"]}
    assert [choice["value"] for choice in leaderboard["period"]["choices"]] == ["all", "week", "month"]
    assert (leaderboard["limit"]["min_value"], leaderboard["limit"]["max_value"]) == (1, 25)
    request = {option["name"]: option for option in payloads["request-credits"]["options"]}
    assert request["amount"]["min_value"] == 1 and request["amount"]["required"] is True
    assert (request["reason"]["min_length"], request["reason"]["max_length"]) == (10, 500)


def test_deploy_commands_registers_them_all_in_one_bulk_overwrite(fake_discord):
    output = run("deploy_commands")

    assert output.strip() == "Successfully registered 5 application commands."
    puts = fake_discord.requests_to("PUT", GLOBAL_ROUTE)
    assert len(puts) == 1 and puts[0].path.endswith(f"/applications/{APPLICATION_ID}/commands")
    assert sorted(command["name"] for command in puts[0].json) == [
        "credits",
        "leaderboard",
        "link",
        "rank",
        "request-credits",
    ]
    for method in ("POST", "PATCH", "DELETE"):
        assert fake_discord.requests_to(method, GLOBAL_ROUTE) == []
    registration = CommandRegistration.objects.get(scope="global")
    assert registration.payload_hash == payload_hash(puts[0].json)
    assert registration.command_count == 5


def test_an_unchanged_command_set_is_not_sent_again_unless_forced(fake_discord):
    run("deploy_commands")

    skipped = run("deploy_commands")
    assert "unchanged" in skipped and "--force" in skipped
    assert len(fake_discord.requests_to("PUT", GLOBAL_ROUTE)) == 1

    assert run("deploy_commands", "--force").strip() == "Successfully registered 5 application commands."
    assert len(fake_discord.requests_to("PUT", GLOBAL_ROUTE)) == 2


def test_a_changed_command_set_is_registered_again(fake_discord):
    CommandRegistration.objects.create(
        scope="global",
        payload_hash="an-older-command-set",
        command_count=4,
        registered_at="2026-01-01T00:00Z",
    )

    assert run("deploy_commands").strip() == "Successfully registered 5 application commands."
    assert len(fake_discord.requests_to("PUT", GLOBAL_ROUTE)) == 1


def test_a_guild_registration_is_its_own_scope(fake_discord):
    run("deploy_commands")

    assert (
        run("deploy_commands", "--guild", GUILD_ID).strip()
        == "Successfully registered 5 application commands."
    )
    assert len(fake_discord.requests_to("PUT", GUILD_ROUTE)) == 1
    assert CommandRegistration.objects.filter(scope=GUILD_ID).exists()


def test_deploy_commands_reports_a_refusal_and_stores_nothing(fake_discord):
    fake_discord.fail_next("PUT", GLOBAL_ROUTE, status=403, body={"message": "Missing Access", "code": 50001})

    with pytest.raises(CommandError, match="Discord refused the registration"):
        run("deploy_commands")
    assert not CommandRegistration.objects.exists()


def test_deploy_commands_rejects_a_guild_that_is_not_an_id(fake_discord):
    with pytest.raises(CommandError, match="must be a guild id"):
        run("deploy_commands", "--guild", "general")


def test_announce_posts_the_text_to_a_channel_by_id(fake_discord):
    output = run("announce", "--channel", DEFAULT_CHANNEL_ID, "Maintenance tonight at 22:00 UTC")

    [message] = fake_discord.sent_messages(DEFAULT_CHANNEL_ID)
    assert message["content"] == "Maintenance tonight at 22:00 UTC"
    assert f"message {message['id']}" in output


def test_an_announcement_run_again_within_the_nonce_window_is_posted_once(fake_discord):
    first = run("announce", "--channel", DEFAULT_CHANNEL_ID, "Maintenance tonight at 22:00 UTC")
    # The operator saw a timeout and ran it again: Discord answers the message it already has.
    again = run("announce", "--channel", DEFAULT_CHANNEL_ID, "Maintenance tonight at 22:00 UTC")

    [message] = fake_discord.sent_messages(DEFAULT_CHANNEL_ID)
    assert f"message {message['id']}" in first and f"message {message['id']}" in again
    posts = fake_discord.requests_to("POST", "/channels/{channel_id}/messages")
    assert posts[0].json["nonce"] == posts[1].json["nonce"] and posts[0].json["enforce_nonce"] is True


def test_a_posted_announcement_is_audited(fake_discord):
    run("announce", "--channel", DEFAULT_CHANNEL_ID, "Maintenance tonight at 22:00 UTC")

    [message] = fake_discord.sent_messages(DEFAULT_CHANNEL_ID)
    event = AuditEvent.objects.get(action="discord.announcement_posted")
    assert (event.source, event.actor) == ("cli", None)
    assert event.data == {
        "channel_id": DEFAULT_CHANNEL_ID,
        "message_id": message["id"],
        "content": "Maintenance tonight at 22:00 UTC",
        "operator": getpass.getuser(),
    }


def test_announce_finds_a_channel_by_name_and_posts_an_embed(fake_discord):
    run("announce", "--channel", "#general", "--embed", "--title", "Maintenance", "Back in 10 minutes")

    [message] = fake_discord.sent_messages(DEFAULT_CHANNEL_ID)
    assert message["embeds"][0]["title"] == "📢 Maintenance"
    assert message["embeds"][0]["description"] == "Back in 10 minutes"


def test_announce_refuses_a_title_longer_than_discord_allows(fake_discord):
    # 255 characters after the "📢 " prefix: 257 in all.
    with pytest.raises(CommandError, match="The title is 255 characters; Discord allows 254 here"):
        run("announce", "--channel", DEFAULT_CHANNEL_ID, "--embed", "--title", "x" * 255, "Back soon")
    assert fake_discord.requests_to("POST", "/channels/{channel_id}/messages") == []

    run("announce", "--channel", DEFAULT_CHANNEL_ID, "--embed", "--title", "x" * 254, "Back soon")
    assert len(fake_discord.sent_messages(DEFAULT_CHANNEL_ID)) == 1


def test_announce_dry_run_sends_nothing(fake_discord):
    output = run("announce", "--channel", DEFAULT_CHANNEL_ID, "--dry-run", "Maintenance tonight")

    assert "Dry run" in output and '"content": "Maintenance tonight"' in output
    assert fake_discord.sent_messages(DEFAULT_CHANNEL_ID) == []
    assert not AuditEvent.objects.exists()


def test_announce_without_a_bot_token_fails_at_once_without_calling_discord(fake_discord, settings):
    settings.DISCORD_BOT_TOKEN = ""

    with pytest.raises(CommandError, match="DISCORD_BOT_TOKEN is not set"):
        run("announce", "--channel", DEFAULT_CHANNEL_ID, "Maintenance tonight")
    assert fake_discord.requests_to("POST", "/channels/{channel_id}/messages") == []


def test_announce_dry_run_works_without_a_bot_token(fake_discord, settings):
    settings.DISCORD_BOT_TOKEN = ""

    output = run("announce", "--channel", "#general", "--dry-run", "Maintenance tonight")

    assert "Dry run: would post to channel #general" in output


def test_announce_refuses_an_unknown_channel_name(fake_discord):
    with pytest.raises(CommandError, match="No text channel named #nowhere"):
        run("announce", "--channel", "nowhere", "Hello")


def test_announce_posts_to_the_announcements_channel_when_no_channel_is_given(fake_discord, settings):
    settings.DISCORD_ANNOUNCEMENTS_CHANNEL_ID = DEFAULT_CHANNEL_ID
    run("announce", "Maintenance tonight at 22:00 UTC")
    assert fake_discord.sent_messages(DEFAULT_CHANNEL_ID)[-1]["content"] == "Maintenance tonight at 22:00 UTC"


def test_announce_without_a_channel_or_the_setting_says_what_to_pass(fake_discord, settings):
    settings.DISCORD_ANNOUNCEMENTS_CHANNEL_ID = ""
    with pytest.raises(CommandError, match="Pass --channel, or set DISCORD_ANNOUNCEMENTS_CHANNEL_ID"):
        run("announce", "Maintenance tonight")


def test_registered_commands_match_the_code_despite_the_fields_discord_fills_in(fake_discord):
    run("deploy_commands")
    local = command_payloads()
    assert command_differences(local, fake_discord.global_commands) == []
    changed = copy.deepcopy(fake_discord.global_commands)
    limit = next(c for c in changed if c["name"] == "leaderboard")["options"][1]
    limit["max_value"] = 50
    assert command_differences(local, changed) == ["/leaderboard differs in options"]

"""run_local start: which processes honcho runs and what they are told, with or without a Discord application."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from waffle.models import Flag

from discord_sandbox import APPLICATION_ID, BOT_TOKEN, GUILD_ID
from ops.demo_community import MODERATORS_CHANNEL_ID

pytestmark = pytest.mark.django_db


class Exec(Exception):
    """Raised in place of os.execve: what run_local would have become."""


@pytest.fixture
def handed_over(monkeypatch):
    """run_local's hand-over to honcho, caught: (argv, env)."""
    Flag.objects.get_or_create(name="discord_integration", defaults={"everyone": None, "percent": 0})
    seen = {}

    def execve(path, argv, env):
        seen.update(argv=argv, env=env)
        raise Exec

    monkeypatch.setattr("ops.management.commands.run_local.os.execve", execve)
    monkeypatch.setattr(
        "ops.management.commands.run_local.call_command",
        lambda name, **options: seen.setdefault("commands", []).append((name, options)),
    )
    return seen


def run(tmp_path, *args):
    with pytest.raises(Exec):
        call_command(
            "run_local", "--port", "8123", "--discord-port", "8124", "--run-dir", str(tmp_path), *args
        )


def test_with_no_discord_application_it_starts_the_sandbox_and_points_the_app_at_it(
    handed_over, settings, tmp_path
):
    settings.DISCORD_CLIENT_ID = settings.DISCORD_BOT_TOKEN = ""
    settings.DEBUG = True  # as make run sets it (pytest-django turns it off)

    run(tmp_path)

    argv, env = handed_over["argv"], handed_over["env"]
    assert argv[argv.index("start") + 1 :] == ["discord", "web", "worker", "beat", "bot", "banner"]
    assert env["DISCORD_API_BASE_URL"] == "http://127.0.0.1:8124/api/v10"
    assert (env["DISCORD_CLIENT_ID"], env["DISCORD_BOT_TOKEN"], env["DISCORD_GUILD_ID"]) == (
        APPLICATION_ID,
        BOT_TOKEN,
        GUILD_ID,
    )
    assert env["DISCORD_MOD_CHANNEL_ID"] == MODERATORS_CHANNEL_ID
    assert env["DISCORD_TOKEN_ENCRYPTION_KEY"] == (tmp_path / "discord-token-key").read_text()
    assert env["SITE_URL"] == "http://127.0.0.1:8123" and env["WEB_PORT"] == "8123"
    seeded = dict(handed_over["commands"])["seed_demo"]
    assert seeded["discord_sandbox_seed"] == tmp_path / "sandbox" / "community.json"
    assert argv[argv.index("--env") + 1] == "/dev/null"


def test_with_a_discord_application_configured_it_starts_no_sandbox(
    handed_over, settings, tmp_path, monkeypatch
):
    settings.DISCORD_CLIENT_ID = "123456789012345678"
    settings.DISCORD_BOT_TOKEN = "real-token"
    monkeypatch.delenv("DISCORD_API_BASE_URL", raising=False)

    run(tmp_path)

    argv, env = handed_over["argv"], handed_over["env"]
    assert argv[argv.index("start") + 1 :] == ["web", "worker", "beat", "bot", "banner"]
    assert "DISCORD_API_BASE_URL" not in env
    assert "discord_sandbox_seed" not in dict(handed_over["commands"])["seed_demo"]


def test_the_sandbox_needs_debug(handed_over, settings, tmp_path):
    settings.DISCORD_CLIENT_ID = settings.DISCORD_BOT_TOKEN = ""
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG on"):
        call_command("run_local", "--run-dir", str(tmp_path))


def test_a_bot_discord_refuses_is_reported_and_the_rest_keeps_running(monkeypatch, tmp_path):
    import io

    from ops.management.commands import run_local

    monkeypatch.setenv("DEALSCALE_RUN_DIR", str(tmp_path))
    monkeypatch.setenv("DEALSCALE_RUN_DISCORD", "discord")

    def refuse(name, **options):
        raise CommandError("Discord rejected DISCORD_BOT_TOKEN (401).")

    monkeypatch.setattr(run_local, "call_command", refuse)
    paused = []
    monkeypatch.setattr(run_local, "_pause_until_stopped", lambda: paused.append(True))
    errors = io.StringIO()

    call_command("run_local", "bot", stderr=errors)

    assert (tmp_path / "bot-failed").read_text() == "Discord rejected DISCORD_BOT_TOKEN (401)."
    assert "The bot is not running" in errors.getvalue() and paused == [True]

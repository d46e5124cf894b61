import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "a-production-secret-key-that-is-long-and-random-enough-0123456789abcdef",
    "ALLOWED_HOSTS": "discord.dealscale.example",
    "DATABASE_URL": "sqlite:////tmp/dealscale-settings-test.sqlite3",
}


def run_manage(*args, env_overrides):
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "SENTRY_DSN"}}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_production_start_without_secret_key_fails_with_a_clear_message():
    result = run_manage("check", env_overrides={**PRODUCTION_ENV, "SECRET_KEY": ""})
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


def test_deploy_check_is_clean_with_a_production_environment():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env_overrides=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_every_variable_of_env_example_left_empty_still_starts():
    """Copying .env.example and leaving values blank must behave like leaving them unset."""
    names = [
        line.lstrip("# ").split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and line.lstrip("# ")[:1].isupper()
    ]
    assert "DATABASE_URL" in names and "EMAIL_URL" in names
    blank = {name: "" for name in names}
    result = run_manage("check", env_overrides={**blank, "DEBUG": "true"})
    assert result.returncode == 0, result.stdout + result.stderr

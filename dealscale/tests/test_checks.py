import pytest

from dealscale.checks import check_discord_is_not_a_sandbox_in_production


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8001/api/v10",
        "http://localhost:8001/api/v10",
        "http://[::1]:8001/api/v10",
        "http://sandbox.localhost/api/v10",
        "http://0.0.0.0:8001/api/v10",
    ],
)
def test_a_discord_api_on_this_machine_fails_the_check_when_debug_is_off(settings, url):
    settings.DEBUG = False
    settings.DISCORD_API_BASE_URL = url

    errors = check_discord_is_not_a_sandbox_in_production(None)

    assert [error.id for error in errors] == ["dealscale.E001"]
    assert "Discord sandbox" in errors[0].msg and "docs/sandbox.md" in errors[0].hint


@pytest.mark.parametrize(
    "url", ["https://discord.com/api/v10", "https://discord-proxy.internal.example/api/v10"]
)
def test_discord_itself_or_a_remote_proxy_passes(settings, url):
    settings.DEBUG = False
    settings.DISCORD_API_BASE_URL = url

    assert check_discord_is_not_a_sandbox_in_production(None) == []


def test_development_may_point_at_the_sandbox(settings):
    settings.DEBUG = True
    settings.DISCORD_API_BASE_URL = "http://127.0.0.1:8001/api/v10"

    assert check_discord_is_not_a_sandbox_in_production(None) == []


def test_manage_check_refuses_a_production_pointed_at_the_sandbox():
    from dealscale.tests.test_settings import PRODUCTION_ENV, run_manage

    result = run_manage(
        "check", env_overrides={**PRODUCTION_ENV, "DISCORD_API_BASE_URL": "http://127.0.0.1:8001/api/v10"}
    )

    assert result.returncode != 0
    assert "dealscale.E001" in result.stderr

"""The ``fake_discord`` fixture: one fake Discord server per test session, reset before every test.

Loaded for the whole suite with ``-p discord_sandbox.pytest_plugin`` (pyproject ``addopts``), so tests in
every app can ask for ``fake_discord``.
"""

import pytest

from discord_sandbox import (
    APPLICATION_ID,
    BOT_TOKEN,
    CLIENT_SECRET,
    GUILD_ID,
    FakeDiscord,
    FakeDiscordServer,
    nextcord_pointed_at,
)


@pytest.fixture(scope="session")
def fake_discord_server():
    server = FakeDiscordServer().start()
    yield server
    server.stop()


@pytest.fixture
def fake_discord(fake_discord_server, settings):
    """A clean fake Discord with the project's settings and nextcord pointed at it."""
    fake_discord_server.reset()
    settings.DISCORD_API_BASE_URL = fake_discord_server.base_url
    settings.DISCORD_BOT_TOKEN = BOT_TOKEN
    settings.DISCORD_CLIENT_ID = APPLICATION_ID
    settings.DISCORD_CLIENT_SECRET = CLIENT_SECRET
    settings.DISCORD_GUILD_ID = GUILD_ID
    # Retries back off for milliseconds in tests, not seconds.
    settings.DISCORD_RETRY_BACKOFF_SECONDS = 0.01
    with nextcord_pointed_at(fake_discord_server.base_url):
        yield FakeDiscord(fake_discord_server)

"""The fake's own tests call it over HTTP, as the project's client and nextcord do."""

import pytest
import requests

from discord_sandbox.tests.helpers import BOT


@pytest.fixture
def api(fake_discord):
    """``api(method, path, **requests_kwargs)``: a request to the fake, with the bot token unless told."""

    def call(method, path, **kwargs):
        kwargs.setdefault("headers", BOT)
        kwargs.setdefault("timeout", 5)
        return requests.request(method, fake_discord.base_url + path, allow_redirects=False, **kwargs)

    return call

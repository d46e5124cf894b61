"""Fixtures of the accounts tests: the Discord OAuth app pointed at the fake Discord, token keys,
the rollout flag, and a helper that walks the browser through allauth's real views."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography.fernet import Fernet
from waffle.models import Flag

from accounts.selectors import DISCORD_INTEGRATION_FLAG
from accounts.tests.factories import UserFactory

TOKEN_KEY = Fernet.generate_key().decode()


@pytest.fixture
def token_key(settings):
    settings.DISCORD_TOKEN_ENCRYPTION_KEY = [TOKEN_KEY]
    return TOKEN_KEY


@pytest.fixture
def discord_flag(db):
    """The rollout flag as the migration creates it (re-created after a transactional test's flush)."""
    flag, _ = Flag.objects.get_or_create(
        name=DISCORD_INTEGRATION_FLAG,
        defaults={"everyone": None, "percent": 0, "staff": True, "superusers": True},
    )
    return flag


@pytest.fixture
def set_flag(discord_flag):
    """Change the flag as the admin would. Waffle flushes its cache on commit, which a test
    transaction never reaches, so the cached copy is flushed here."""

    def change(**fields):
        for name, value in fields.items():
            setattr(discord_flag, name, value)
        discord_flag.save()
        discord_flag.flush()
        return discord_flag

    return change


@pytest.fixture
def discord_on(set_flag):
    return set_flag(everyone=True)


@pytest.fixture
def discord_oauth(fake_discord, settings, token_key, discord_on):
    """The OAuth app of the environment (as settings.py builds it), aimed at the fake Discord."""
    settings.SOCIALACCOUNT_PROVIDERS = {
        "discord": {
            **settings.SOCIALACCOUNT_PROVIDERS["discord"],
            "APPS": [
                {"client_id": settings.DISCORD_CLIENT_ID, "secret": settings.DISCORD_CLIENT_SECRET, "key": ""}
            ],
        }
    }
    return fake_discord


@pytest.fixture
def member(db):
    return UserFactory(username="alice", email="alice@example.com")


@pytest.fixture
def discord_user(fake_discord):
    """The Discord account that consents on the fake's authorize page."""
    user = fake_discord.add_user(
        username="alice_d", global_name="Alice D", email="alice@discord.example", avatar="abc123"
    )
    fake_discord.state.oauth_consent_user_id = user["id"]
    return user


class DiscordFlow:
    """The browser's side of the OAuth dance, through allauth's real views and the fake Discord."""

    def __init__(self, client, fake):
        self.client = client
        self.fake = fake

    def start(self, *, process="login", next_url=None):
        """POST to allauth's login view; returns its redirect to Discord's authorize URL."""
        data = {"process": process}
        if next_url:
            data["next"] = next_url
        response = self.client.post("/accounts/discord/login/", data)
        assert response.status_code == 302, response.content[:500]
        return response["Location"]

    def consent(self, authorize_url):
        """What the browser does at Discord: the fake redirects back with a code (or an error)."""
        answer = requests.get(authorize_url, allow_redirects=False, timeout=5)
        assert answer.status_code == 302, answer.text
        return answer.headers["Location"]

    def callback(self, url, **params):
        parts = urlsplit(url)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        query.update(params)
        query = {key: value for key, value in query.items() if value is not None}
        return self.client.get(parts.path, query)

    def run(self, *, process="login", next_url=None, **callback_params):
        return self.callback(self.consent(self.start(process=process, next_url=next_url)), **callback_params)

    @staticmethod
    def state_of(authorize_url):
        return parse_qs(urlsplit(authorize_url).query)["state"][0]


@pytest.fixture
def flow(client, discord_oauth):
    return DiscordFlow(client, discord_oauth)

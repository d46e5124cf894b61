"""Fixtures of the Linked Roles tests: members linked at the fake Discord with real grants, the metadata
registered there, and a way to run what the outbox holds as a worker would."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import DiscordToken
from accounts.tests import conftest as accounts_fixtures
from accounts.tests.factories import DiscordAccountFactory, UserFactory
from dealscale import outbox
from dealscale.models import OutboxEntry
from linkedroles import services

SCOPES = "identify email role_connections.write"

# The OAuth flow through allauth's real views, the rollout flag and the token key, as accounts tests use them.
token_key = accounts_fixtures.token_key
discord_flag = accounts_fixtures.discord_flag
set_flag = accounts_fixtures.set_flag
discord_on = accounts_fixtures.discord_on
discord_oauth = accounts_fixtures.discord_oauth
member = accounts_fixtures.member
discord_user = accounts_fixtures.discord_user
flow = accounts_fixtures.flow


@pytest.fixture
def link(fake_discord, token_key, discord_on):
    """link(username, scope=SCOPES, expires_in=None) -> (user, discord user id, tokens): a member whose
    Discord link holds a real grant at the fake, as the OAuth callback would have stored it."""

    def make(username: str, *, scope: str = SCOPES, expires_in: timedelta | None = None, display_name=""):
        made = fake_discord.add_user(username=f"{username}_d")
        tokens = fake_discord.grant_tokens(user_id=made["id"], scope=scope)
        user = UserFactory(username=username, display_name=display_name)
        account = DiscordAccountFactory(user=user, uid=made["id"])
        DiscordToken.objects.create(
            social_account=account,
            access_token_encrypted=tokens["access_token"],
            refresh_token_encrypted=tokens["refresh_token"],
            expires_at=timezone.now() + (expires_in or timedelta(seconds=tokens["expires_in"])),
            scope=tokens["scope"],
        )
        return user, made["id"], tokens

    return make


@pytest.fixture
def registered(fake_discord, db):
    """The metadata schema registered at the fake (Discord refuses values for keys it does not know)."""
    services.register_metadata()
    return fake_discord


@pytest.fixture
def run_outbox(django_capture_on_commit_callbacks):
    """Deliver every due outbox entry in this process, as a worker would, until none is left due."""

    def run() -> list[tuple[str, str]]:
        outcomes = []
        for _ in range(20):
            due = list(
                OutboxEntry.objects.filter(
                    status=OutboxEntry.Status.PENDING, next_attempt_at__lte=timezone.now()
                )
                .order_by("pk")
                .values_list("pk", "kind")
            )
            if not due:
                break
            for pk, kind in due:
                outcomes.append((kind, outbox.deliver(pk)))
        return outcomes

    return run

"""factory_boy factories for the operations tests: the recorded events the dashboard and alerts read."""

import factory
from django.utils import timezone

from accounts.models import OAuthAttempt
from discordbot.models import BotHeartbeat, CommandInvocation


class CommandInvocationFactory(factory.django.DjangoModelFactory):
    """A command handled now (created_at follows the clock, time-machine's in tests)."""

    class Meta:
        model = CommandInvocation

    command = "balance"
    discord_user_id = factory.Sequence(lambda n: str(100000000000000000 + n))
    duration_ms = 120.0
    outcome = CommandInvocation.Outcome.OK


class OAuthAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OAuthAttempt

    succeeded = False
    error = "access_denied"


class HeartbeatFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BotHeartbeat
        django_get_or_create = ("instance",)

    instance = "bot-0"
    last_seen_at = factory.LazyFunction(timezone.now)
    started_at = factory.LazyFunction(timezone.now)
    latency_ms = 40.0

"""The one mapping from a Discord failure to a Celery retry (discord_rest.retry), with its countdowns."""

from types import SimpleNamespace

import pytest

from discord_rest.errors import (
    DiscordForbidden,
    DiscordInvalidRequestLimit,
    DiscordRateLimited,
    DiscordServerError,
)
from discord_rest.retry import retry_transient_failures


class Retry(Exception):
    def __init__(self, exc, countdown):
        self.exc, self.countdown = exc, countdown


class FakeTask:
    """Stands for a bound Celery task: `retry` returns the exception the task raises."""

    def __init__(self, retries: int = 0):
        self.request = SimpleNamespace(retries=retries)

    def retry(self, *, exc, countdown):
        return Retry(exc, countdown)


def countdown_after(error, *, retries: int = 0) -> float:
    with pytest.raises(Retry) as retried, retry_transient_failures(FakeTask(retries)):
        raise error
    assert retried.value.exc is error
    return retried.value.countdown


def test_a_rate_limit_retries_after_what_discord_asked_but_never_sooner_than_a_second():
    assert countdown_after(DiscordRateLimited("slow down", retry_after=7.5)) == 7.5
    assert countdown_after(DiscordRateLimited("slow down", retry_after=0.02)) == 1.0
    assert countdown_after(DiscordInvalidRequestLimit("paused", retry_after=42, status=0)) == 42


def test_a_discord_outage_backs_off_exponentially_up_to_five_minutes():
    outage = DiscordServerError("bad gateway", status=502)
    assert [countdown_after(outage, retries=n) for n in range(8)] == [5, 10, 20, 40, 80, 160, 300, 300]


def test_a_refusal_retrying_cannot_fix_passes_through():
    refusal = DiscordForbidden("Cannot send messages to this user", status=403, code=50007)
    with pytest.raises(DiscordForbidden), retry_transient_failures(FakeTask()):
        raise refusal

"""The one mapping from a Discord failure to the outbox's retry (discord_rest.retry), with its delays."""

import pytest

from dealscale.outbox import RetryLater, Undeliverable
from discord_rest.errors import (
    DiscordForbidden,
    DiscordInvalidRequestLimit,
    DiscordRateLimited,
    DiscordServerError,
)
from discord_rest.retry import retry_transient_failures


def delay_after(error, *, attempt: int = 1) -> float:
    with pytest.raises(RetryLater) as retried, retry_transient_failures(attempt=attempt):
        raise error
    assert retried.value.__cause__ is error
    return retried.value.after


def test_a_rate_limit_retries_after_what_discord_asked_but_never_sooner_than_a_second():
    assert delay_after(DiscordRateLimited("slow down", retry_after=7.5)) == 7.5
    assert delay_after(DiscordRateLimited("slow down", retry_after=0.02)) == 1.0
    assert delay_after(DiscordInvalidRequestLimit("paused", retry_after=42, status=0)) == 42


def test_a_discord_outage_backs_off_exponentially_up_to_five_minutes():
    outage = DiscordServerError("bad gateway", status=502)
    assert [delay_after(outage, attempt=n) for n in range(1, 9)] == [5, 10, 20, 40, 80, 160, 300, 300]


def test_a_refusal_retrying_cannot_fix_gives_up():
    refusal = DiscordForbidden("Missing Permissions", status=403, code=50013)
    with pytest.raises(Undeliverable, match="50013"), retry_transient_failures(attempt=1):
        raise refusal

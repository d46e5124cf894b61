"""The one mapping from a failed Discord call to the outbox's answer, used by every delivery that calls Discord."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from dealscale.outbox import RetryLater, Undeliverable
from discord_rest.errors import DiscordError, DiscordRateLimited, DiscordServerError

MIN_RETRY_AFTER_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 300


@contextmanager
def retry_transient_failures(*, attempt: int) -> Iterator[None]:
    """Retry the delivery (attempt number `attempt`, from 1) when the Discord calls in the block fail for now.

    A 429 (DiscordRateLimited) retries after Discord's retry_after, at least 1 s; a 5xx or network failure
    (DiscordServerError) backs off OUTBOX_FIRST_BACKOFF_SECONDS (5 s), 10 s, 20 s... up to 300 s. Both come
    after the client's own retries.
    Any other DiscordError gives up: retrying cannot fix a 400, 401, 403 or 404. Raises the outbox's
    RetryLater or Undeliverable.
    """
    try:
        yield
    except DiscordRateLimited as exc:
        after = max(float(exc.retry_after), MIN_RETRY_AFTER_SECONDS)
        raise RetryLater(f"Discord rate limit: {exc}", after=after) from exc
    except DiscordServerError as exc:
        backoff = min(settings.OUTBOX_FIRST_BACKOFF_SECONDS * 2 ** max(attempt - 1, 0), MAX_BACKOFF_SECONDS)
        raise RetryLater(f"Discord unavailable: {exc}", after=backoff) from exc
    except DiscordError as exc:
        raise Undeliverable(f"Discord refused: {exc} (code {exc.code})") from exc

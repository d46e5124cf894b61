"""The one mapping from a Discord call that failed for now to a Celery retry, used by every task that calls Discord."""

from collections.abc import Iterator
from contextlib import contextmanager

from celery import Task

from discord_rest.errors import DiscordRateLimited, DiscordServerError

MIN_RETRY_AFTER_SECONDS = 1.0
FIRST_BACKOFF_SECONDS = 5
MAX_BACKOFF_SECONDS = 300


@contextmanager
def retry_transient_failures(task: Task) -> Iterator[None]:
    """Retry the bound `task` when the Discord calls in the block fail for now.

    A 429 (DiscordRateLimited) retries after Discord's retry_after, at least 1 s; a 5xx or network failure
    (DiscordServerError) backs off 5 s, 10 s, 20 s... up to 300 s. Both come after the client's own retries.
    Any other DiscordError passes through: retrying cannot fix a 403 or a 404. Raises celery's Retry, or
    the Discord error once the task's max_retries are spent.
    """
    try:
        yield
    except DiscordRateLimited as exc:
        raise task.retry(exc=exc, countdown=max(float(exc.retry_after), MIN_RETRY_AFTER_SECONDS)) from exc
    except DiscordServerError as exc:
        backoff = min(FIRST_BACKOFF_SECONDS * 2**task.request.retries, MAX_BACKOFF_SECONDS)
        raise task.retry(exc=exc, countdown=backoff) from exc

"""Cross-process locks so that a periodic task never runs twice at once.

Redis (SET NX with a TTL, token-checked release) when REDIS_URL is set; otherwise a row in the
database, so the embedded `make run` mode is just as safe.
"""

import functools
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import structlog
from django.db import IntegrityError, transaction
from django.utils import timezone

from dealscale.models import TaskLock
from dealscale.redis_client import get_redis

logger = structlog.get_logger(__name__)


@contextmanager
def single_flight(name: str, *, ttl_seconds: int) -> Iterator[bool]:
    """Hold the lock `name` for the block; yields False (and holds nothing) if another has it.

    The TTL bounds how long a crashed holder can block the next run.
    """
    redis = get_redis()
    if redis is not None:
        lock = redis.lock(f"dealscale:lock:{name}", timeout=ttl_seconds, blocking=False)
        acquired = lock.acquire()
        try:
            yield acquired
        finally:
            if acquired and lock.owned():
                lock.release()
        return

    owner = uuid.uuid4().hex
    acquired = _acquire_db_lock(name, owner=owner, ttl_seconds=ttl_seconds)
    try:
        yield acquired
    finally:
        if acquired:
            TaskLock.objects.filter(name=name, owner=owner).delete()


def _acquire_db_lock(name: str, *, owner: str, ttl_seconds: int) -> bool:
    now = timezone.now()
    expires_at = now + timedelta(seconds=ttl_seconds)
    try:
        with transaction.atomic():
            TaskLock.objects.create(name=name, owner=owner, expires_at=expires_at)
        return True
    except IntegrityError:
        # Taken: steal it only if its holder's TTL ran out (a conditional UPDATE is atomic).
        return bool(
            TaskLock.objects.filter(name=name, expires_at__lt=now).update(owner=owner, expires_at=expires_at)
        )


def run_exclusively(lock_name: str, *, ttl_seconds: int) -> Callable:
    """Decorate a task so that an overlapping call returns None at once instead of running."""

    def decorator(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with single_flight(lock_name, ttl_seconds=ttl_seconds) as acquired:
                if not acquired:
                    logger.info("task_skipped_already_running", lock=lock_name)
                    return None
                return func(*args, **kwargs)

        return wrapper

    return decorator

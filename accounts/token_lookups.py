"""Bearer-token lookups through the shared cache, forgotten the moment a token or its user changes.

An API request costs no database query for its token: the token row and its user are kept in the
default cache (Redis when configured, shared by every web process) under the hash of the key. Any
change that could change the answer — the token revoked or deleted, its user saved (deactivated,
staff flag, name) or deleted — replaces the entry with a tombstone, so the next request of every
process reads the database again. Permissions are never cached (Django reads them per request), so a
granted or removed permission applies at once without an invalidation.

Entries are only ever *added*, never overwritten: a request that read the row just before a revoke
and caches it after the tombstone was written cannot bring the revoked token back. The tombstone
outlives any such in-flight request, and entries expire after LOOKUP_SECONDS anyway, which bounds a
lost invalidation (Redis unreachable at the moment of a revoke and back with its old entries).
With the cache down, every lookup reads the database: slower, never wrong.
"""

from collections.abc import Iterable

import structlog
from django.core.cache import cache
from django.db import transaction
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

from accounts.models import APIToken
from accounts.selectors import active_token_for_key

PREFIX = "apitoken"
LOOKUP_SECONDS = 60
TOMBSTONE_SECONDS = 30
TOMBSTONE = "forgotten"
# What a cache that does not swallow its errors raises when Redis is down (or a file cache's disk fails).
CACHE_ERRORS = (RedisError, ConnectionInterrupted, OSError)

logger = structlog.get_logger(__name__)


def _cache_key(key_hash: str) -> str:
    return f"{PREFIX}:{key_hash}"


def cached_active_token(key: str) -> tuple[APIToken | None, bool]:
    """The active token whose clear key is `key` (with its user) or None, and whether the database was read."""
    cache_key = _cache_key(APIToken.hash_key(key))
    try:
        hit = cache.get(cache_key)
    except CACHE_ERRORS as exc:
        logger.warning("token_lookup_cache_unavailable", error=repr(exc))
        return active_token_for_key(key), True
    if isinstance(hit, APIToken):
        return hit, False
    token = active_token_for_key(key)
    if token is not None and hit is None:
        try:
            cache.add(cache_key, token, LOOKUP_SECONDS)
        except CACHE_ERRORS as exc:
            logger.warning("token_lookup_cache_unavailable", error=repr(exc))
    return token, True


def forget_token_lookups(key_hashes: Iterable[str]) -> None:
    """Make the next lookup of these tokens read the database, now and again after the transaction commits.

    The second tombstone covers a transaction that outlives the first one (a slow admin action).
    """
    keys = [_cache_key(key_hash) for key_hash in key_hashes]
    if not keys:
        return

    def bury() -> None:
        try:
            cache.set_many(dict.fromkeys(keys, TOMBSTONE), TOMBSTONE_SECONDS)
        except CACHE_ERRORS as exc:
            # An entry Redis still holds when it comes back expires within LOOKUP_SECONDS.
            logger.warning("token_lookup_forget_failed", tokens=len(keys), error=repr(exc))

    bury()
    transaction.on_commit(bury, robust=True)


def forget_token_lookups_of_user(user_id: int) -> None:
    """Forget the cached lookups of every token of the user `user_id` (its flags or profile changed)."""
    forget_token_lookups(APIToken.objects.filter(user_id=user_id).values_list("key_hash", flat=True))

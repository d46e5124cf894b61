"""API throttles: per user, per client IP and per score-webhook key, counted in the default cache.

The cache is Redis when REDIS_URL is set, so every web process shares the same buckets. A refused
request gets DRF's 429 with a `Retry-After` header (seconds). Rates live in
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]; they are read on every request rather than once at import
(DRF's default), so a changed setting applies without a restart of the class.
"""

import structlog
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle, UserRateThrottle

logger = structlog.get_logger(__name__)


class _LiveRatesMixin:
    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view) -> bool:
        # The limits protect capacity, not data: with the cache down, serve rather than answer 500.
        try:
            return super().allow_request(request, view)
        except (RedisError, ConnectionInterrupted, OSError) as exc:
            logger.warning("throttle_cache_unavailable", scope=self.scope, error=repr(exc))
            return True


class UserThrottle(_LiveRatesMixin, UserRateThrottle):
    """Requests per signed-in user (per IP for anonymous callers), whatever IP they come from."""

    scope = "user"


class IPThrottle(_LiveRatesMixin, SimpleRateThrottle):
    """Requests per client IP, signed in or not: many tokens from one address share one bucket."""

    scope = "ip"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class ScoreEventKeyThrottle(_LiveRatesMixin, SimpleRateThrottle):
    """Score events per service key of the webhook; unauthenticated calls are counted per IP."""

    scope = "score_events"

    def get_cache_key(self, request, view) -> str:
        key_id = getattr(request.auth, "pk", None)
        ident = f"key-{key_id}" if key_id is not None else f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

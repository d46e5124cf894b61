"""The API's per-user and per-IP limits for the leaderboard reads, counted in one Redis round trip.

The project's throttles (dealscale.throttling) keep a sliding window as a pickled list and make
two cache round trips per scope: four for a request that the page cache then answers in one. For
these reads the same two rates (REST_FRAMEWORK "user" and "ip") are enforced as fixed-window
counters — INCR and EXPIRE of both keys in one pipeline. A fixed window lets a caller burst up to
twice the rate across a window boundary, which is harmless for a cached read. Without Redis
(embedded mode) or with Redis down, reads are allowed: the limit protects capacity, not data.
"""

import time

from redis.exceptions import RedisError
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from dealscale.redis_client import get_redis

KEY_PREFIX = "dealscale:throttle:read"


class LeaderboardReadThrottle(BaseThrottle):
    def __init__(self):
        self._wait: float | None = None

    def allow_request(self, request, view) -> bool:
        redis = get_redis()
        if redis is None:
            return True
        client_ip = self.get_ident(request)
        caller = (
            f"user-{request.user.pk}" if request.user and request.user.is_authenticated else f"ip-{client_ip}"
        )
        now = time.time()
        windows = []
        for scope, ident in (("user", caller), ("ip", client_ip)):
            rate = api_settings.DEFAULT_THROTTLE_RATES.get(scope)
            if not rate:
                continue
            limit, duration = SimpleRateThrottle.parse_rate(None, rate)
            window = int(now // duration)
            windows.append((f"{KEY_PREFIX}:{scope}:{ident}:{window}", limit, duration, window))
        if not windows:
            return True
        pipeline = redis.pipeline(transaction=False)
        for key, _, duration, _ in windows:
            pipeline.incr(key)
            pipeline.expire(key, duration + 1)
        try:
            counts = pipeline.execute()[::2]
        except RedisError:
            return True
        for (_, limit, duration, window), count in zip(windows, counts, strict=True):
            if count > limit:
                self._wait = (window + 1) * duration - now
                return False
        return True

    def wait(self) -> float | None:
        return self._wait

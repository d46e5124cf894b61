"""Health endpoints: `/health` (liveness) and `/health/discord` (the integration's dependencies).

Each dependency check is bounded by a short timeout so that a dead Redis or database gives a fast
503, never a hung request or a 500.
"""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait

import structlog
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.selectors import oauth_is_working
from dealscale.redis_client import get_redis
from discordbot.selectors import bot_is_online

logger = structlog.get_logger(__name__)

# Checks run in threads so that one that hangs past its timeout cannot hold the response.
_executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="health")


def check_database() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


def check_redis() -> bool:
    redis = get_redis()
    if redis is None:
        # The embedded mode runs without Redis by design; nothing depends on it there.
        return True
    return bool(redis.ping())


def _in_thread_with_db(check: Callable[[], bool]) -> Callable[[], bool]:
    def run() -> bool:
        try:
            return check()
        finally:
            connection.close()

    return run


CHECKS: dict[str, Callable[[], bool]] = {
    "bot_online": _in_thread_with_db(bot_is_online),
    "oauth_working": _in_thread_with_db(oauth_is_working),
    "database_connection": _in_thread_with_db(check_database),
    "redis_connection": check_redis,
}


def run_checks(timeout: float | None = None) -> dict[str, bool]:
    """Run every check concurrently under one deadline; a check that raises or is late counts as failed."""
    timeout = settings.HEALTH_CHECK_TIMEOUT_SECONDS if timeout is None else timeout
    futures = {name: _executor.submit(check) for name, check in CHECKS.items()}
    done, _ = wait(futures.values(), timeout=timeout)
    results = {}
    for name, future in futures.items():
        if future not in done:
            # A late answer must not count: the caller was already told how long we wait.
            future.cancel()
            logger.warning("health_check_timed_out", check=name, timeout=timeout)
            results[name] = False
        elif future.exception() is not None:
            logger.warning("health_check_failed", check=name, error=repr(future.exception()))
            results[name] = False
        else:
            results[name] = bool(future.result())
    return results


@never_cache
@require_GET
def liveness(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def discord_health(request):
    checks = run_checks()
    healthy = all(checks.values())
    return JsonResponse(
        {"status": "healthy" if healthy else "degraded", "checks": checks},
        status=200 if healthy else 503,
    )

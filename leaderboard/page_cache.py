"""The rendered JSON of leaderboard pages in the Django cache (Redis when configured).

Keys: `live:<period>` holds the live generation id, written only after a generation commits;
`latest:<period>:<limit>:<offset>` holds (generation id, body) of the common pages, rewritten by
every recalculation, so the usual request costs one cache round trip; other pages live under
`page:<generation>:<limit>:<offset>`, filled on first read. A body is served only when its
generation is the live one. Any Redis error falls back to the database: a dead cache costs speed,
never an error.

On top, each process keeps the bodies it served for one second: the hottest pages then cost no
round trip at all, and a new generation reaches every process at most a second after the cache.
"""

import json
from time import monotonic

import structlog
from django.core.cache import cache
from redis.exceptions import RedisError

from leaderboard import selectors

logger = structlog.get_logger(__name__)

# Every common page starts at offset 0: one query of the longest serves them all.
COMMON_PAGES = [(10, 0), (25, 0), (100, 0)]
PAGE_TTL_SECONDS = 300
PREFIX = "leaderboard"
LOCAL_SECONDS = 1.0
_LOCAL_MAX = 1_000
_local: dict[tuple[str, int, int], tuple[float, bytes]] = {}


def _live_key(period: str) -> str:
    return f"{PREFIX}:live:{period}"


def _latest_key(period: str, limit: int, offset: int) -> str:
    return f"{PREFIX}:latest:{period}:{limit}:{offset}"


def _page_key(generation_id: int, limit: int, offset: int) -> str:
    return f"{PREFIX}:page:{generation_id}:{limit}:{offset}"


def _render(document: dict) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def read_page(*, period: str, limit: int, offset: int) -> bytes:
    """The JSON body of a leaderboard page, from the cache when it holds the live generation's."""
    now = monotonic()
    hit = _local.get((period, limit, offset))
    if hit is not None and now - hit[0] < LOCAL_SECONDS:
        return hit[1]
    body = _read_shared_page(period=period, limit=limit, offset=offset)
    if len(_local) >= _LOCAL_MAX:
        _local.clear()
    _local[(period, limit, offset)] = (now, body)
    return body


def forget_local_pages() -> None:
    """Drop this process's one-second copies (the process that publishes shows its work at once)."""
    _local.clear()


def _read_shared_page(*, period: str, limit: int, offset: int) -> bytes:
    live_key, latest_key = _live_key(period), _latest_key(period, limit, offset)
    try:
        found = cache.get_many([live_key, latest_key])
        live, latest = found.get(live_key), found.get(latest_key)
        if live is not None and latest is not None and latest[0] == live:
            return latest[1]
        if live is not None:
            body = cache.get(_page_key(live, limit, offset))
            if body is not None:
                return body
    except RedisError as exc:
        logger.warning("leaderboard_cache_unavailable", error=str(exc))
        return _render(selectors.leaderboard_payload(period=period, limit=limit, offset=offset)[1])

    generation_id, document = selectors.leaderboard_payload(period=period, limit=limit, offset=offset)
    body = _render(document)
    if generation_id is not None:
        try:
            cache.set(_page_key(generation_id, limit, offset), body, PAGE_TTL_SECONDS)
            # `add`, never `set`: a recalculation that published meanwhile must not be overwritten.
            cache.add(live_key, generation_id, None)
        except RedisError as exc:
            logger.warning("leaderboard_cache_unavailable", error=str(exc))
    return body


def repair(period: str, *, generation_id: int) -> None:
    """Rewrite the pages when the cache does not point at the live generation (Redis was down or
    flushed when it was published); called by every recalculation run, even one that skips work."""
    try:
        current = cache.get(_live_key(period))
    except RedisError:
        return
    if current != generation_id:
        write_common_pages(period)


def write_common_pages(period: str) -> None:
    """Render the common pages of the live generation and point the cache at it (after commit)."""
    forget_local_pages()
    generation = selectors.live_generation(period)
    if generation is None:
        return
    longest = max(limit for limit, _ in COMMON_PAGES)
    entries = selectors.top_entries(period=period, limit=longest, generation=generation)
    pages = {
        _latest_key(period, limit, offset): (
            generation.pk,
            _render(
                selectors.page_document(
                    period=period, generation=generation, entries=entries[offset:][:limit]
                )
            ),
        )
        for limit, offset in COMMON_PAGES
    }
    try:
        cache.set_many(pages, None)
        cache.set(_live_key(period), generation.pk, None)
    except RedisError as exc:
        logger.warning("leaderboard_cache_refresh_failed", period=period, error=str(exc))

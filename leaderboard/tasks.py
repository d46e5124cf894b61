"""Celery tasks of the leaderboard."""

import structlog
from celery import shared_task

from dealscale.locks import run_exclusively

logger = structlog.get_logger(__name__)


@shared_task(name="leaderboard.tasks.recalculate_leaderboard", soft_time_limit=25, time_limit=28)
@run_exclusively("leaderboard-recalculate", ttl_seconds=29)
def recalculate_leaderboard() -> None:
    """Recompute ranks and snapshots (filled in by the leaderboard issue)."""
    logger.info("leaderboard_recalculation_not_configured")

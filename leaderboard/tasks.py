"""Celery tasks of the leaderboard."""

from celery import shared_task

from dealscale.locks import run_exclusively
from leaderboard import services


@shared_task(name="leaderboard.tasks.recalculate_leaderboard", soft_time_limit=25, time_limit=28)
@run_exclusively("leaderboard-recalculate", ttl_seconds=29)
def recalculate_leaderboard() -> None:
    """Recompute the periods whose ledger changed (beat runs it every 30 s; the lock prevents overlap)."""
    services.recalculate_leaderboard()

"""Celery tasks of the Discord integration."""

import structlog
from celery import shared_task

from dealscale.locks import run_exclusively

logger = structlog.get_logger(__name__)


@shared_task(name="discordbot.tasks.sync_roles", soft_time_limit=260, time_limit=280)
@run_exclusively("discord-role-sync", ttl_seconds=290)
def sync_roles() -> None:
    """Reconcile milestone roles with Discord (filled in by the role-sync issue)."""
    logger.info("role_sync_not_configured")

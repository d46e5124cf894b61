"""Celery tasks of the platform itself: alert evaluation (every minute, from beat); deliveries go through
the outbox (ops/deliveries.py)."""

import structlog
from celery import shared_task

from dealscale import outbox
from dealscale.locks import run_exclusively
from ops import alerts
from ops.alerts import ALERT_DELIVERY

logger = structlog.get_logger(__name__)


@shared_task(name="dealscale.tasks.evaluate_alerts", soft_time_limit=50, time_limit=55)
@run_exclusively("alerts-evaluate", ttl_seconds=58)
def evaluate_alerts() -> int:
    """Run every alert rule once; returns how many notifications were recorded."""
    return len(alerts.evaluate_alerts())


@shared_task(name="dealscale.tasks.deliver_alert", ignore_result=True)
def deliver_alert(delivery_id: int) -> None:
    """An alert delivery queued before the outbox: written to the outbox and delivered from there."""
    outbox.add(ALERT_DELIVERY, {"delivery_id": delivery_id}, key=f"alert_delivery:{delivery_id}")

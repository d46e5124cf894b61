"""Celery tasks of the platform itself: alert evaluation (every minute, from beat) and alert delivery."""

import structlog
from celery import shared_task
from django.conf import settings

from dealscale.locks import run_exclusively
from ops import alerts, notifiers

logger = structlog.get_logger(__name__)


@shared_task(name="dealscale.tasks.evaluate_alerts", soft_time_limit=50, time_limit=55)
@run_exclusively("alerts-evaluate", ttl_seconds=58)
def evaluate_alerts() -> int:
    """Run every alert rule once; returns how many notifications were recorded."""
    return len(alerts.evaluate_alerts())


@shared_task(name="dealscale.tasks.deliver_alert", bind=True, max_retries=None, acks_late=True)
def deliver_alert(self, delivery_id: int) -> bool:
    """Post one alert to its webhook, retrying with exponential backoff; never raises past the last try."""
    retries = self.request.retries
    final = retries >= settings.ALERT_WEBHOOK_MAX_RETRIES
    try:
        return notifiers.attempt_delivery(delivery_id=delivery_id, final=final)
    except notifiers.DeliveryFailed as exc:
        countdown = settings.ALERT_WEBHOOK_RETRY_BACKOFF_SECONDS * 2**retries
        raise self.retry(exc=exc, countdown=countdown) from exc

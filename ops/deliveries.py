"""Alert webhook deliveries as outbox handlers (registered in apps.py).

The outbox retries a failed post ALERT_WEBHOOK_MAX_RETRIES times, ALERT_WEBHOOK_RETRY_BACKOFF_SECONDS
apart and doubling; the AlertDelivery row mirrors each attempt for the alert pages.
"""

from django.conf import settings

from dealscale import outbox
from dealscale.models import OutboxEntry
from ops import notifiers
from ops.alerts import ALERT_DELIVERY


def _backoff(attempt: int) -> float:
    return settings.ALERT_WEBHOOK_RETRY_BACKOFF_SECONDS * 2 ** (attempt - 1)


@outbox.handler(ALERT_DELIVERY, max_attempts=lambda: settings.ALERT_WEBHOOK_MAX_RETRIES + 1, backoff=_backoff)
def deliver_alert(entry: OutboxEntry) -> outbox.Result:
    """Post one alert to its webhook; the last failed attempt marks the AlertDelivery failed too."""
    delivery_id = entry.payload["delivery_id"]
    try:
        sent = notifiers.attempt_delivery(delivery_id=delivery_id, final=outbox.is_last_attempt(entry))
    except notifiers.DeliveryFailed as exc:
        raise outbox.RetryLater(str(exc)) from exc
    if not sent:
        raise outbox.Undeliverable("The webhook refused every attempt.")
    return {"delivery_id": delivery_id}

"""Alert webhooks: every outbound alert call lives here (a Discord webhook and a Slack-compatible one).

The URLs are full URLs from settings, not routes of DISCORD_API_BASE_URL: a webhook is posted to
whatever the operator pasted, which may also be a Mattermost or Rocket.Chat endpoint.
"""

from collections.abc import Callable
from urllib.parse import urlsplit

import requests
import structlog
from django.conf import settings
from django.utils import timezone

from ops.models import AlertDelivery, AlertIncident, AlertNotification

logger = structlog.get_logger(__name__)

_COLOURS: dict[str, int] = {
    AlertNotification.Kind.RESOLVED: 0x2E7D32,
    AlertIncident.Severity.CRITICAL: 0xC62828,
    AlertIncident.Severity.WARNING: 0xF9A825,
}


class DeliveryFailed(Exception):
    """The webhook refused the message, timed out or could not be reached."""


def discord_payload(notification: AlertNotification) -> dict:
    """A Discord webhook body: the message as content plus an embed; mentions are never parsed."""
    incident = notification.incident
    colour = (
        _COLOURS[notification.kind]
        if notification.kind == AlertNotification.Kind.RESOLVED
        else _COLOURS[incident.severity]
    )
    return {
        "content": notification.message[:2000],
        "allowed_mentions": {"parse": []},
        "embeds": [
            {
                "title": f"[{notification.get_kind_display()}] {incident.rule}",
                "description": incident.summary,
                "color": colour,
                "timestamp": notification.created_at.isoformat(),
                "fields": [
                    {"name": "Severity", "value": incident.severity, "inline": True},
                    {
                        "name": "Since",
                        "value": f"{incident.started_at:%Y-%m-%d %H:%M:%S} UTC",
                        "inline": True,
                    },
                ],
            }
        ],
    }


def slack_payload(notification: AlertNotification) -> dict:
    """A Slack-compatible incoming-webhook body (also understood by Mattermost and Rocket.Chat)."""
    return {"text": notification.message}


_CHANNELS: dict[str, tuple[str, Callable[[AlertNotification], dict]]] = {
    AlertDelivery.Channel.DISCORD: ("ALERT_DISCORD_WEBHOOK_URL", discord_payload),
    AlertDelivery.Channel.SLACK: ("ALERT_SLACK_WEBHOOK_URL", slack_payload),
}


def send(delivery: AlertDelivery) -> None:
    """POST the delivery's notification to its channel's webhook. Raises DeliveryFailed."""
    setting_name, build = _CHANNELS[delivery.channel]
    url = getattr(settings, setting_name)
    if not url:
        raise DeliveryFailed(f"{setting_name} is not set.")
    # A webhook URL carries its token in the path, and requests' messages quote the URL: the error that
    # reaches the admin and the logs names only the exception class, the host and the status.
    host = urlsplit(url).hostname or "?"
    try:
        response = requests.post(
            url, json=build(delivery.notification), timeout=settings.ALERT_WEBHOOK_TIMEOUT_SECONDS
        )
    except requests.RequestException as exc:
        raise DeliveryFailed(f"{type(exc).__name__} from {host}") from None
    if response.status_code >= 300:
        raise DeliveryFailed(f"HTTP {response.status_code} from {host}")


def attempt_delivery(*, delivery_id: int, final: bool) -> bool:
    """Try one delivery; record the attempt. Returns True when sent (or already sent). Raises DeliveryFailed
    unless this was the `final` attempt, after which the delivery is marked failed."""
    delivery = AlertDelivery.objects.select_related("notification__incident").get(pk=delivery_id)
    if delivery.status == AlertDelivery.Status.SENT:
        return True
    delivery.attempts += 1
    try:
        send(delivery)
    except DeliveryFailed as exc:
        delivery.last_error = str(exc)[:300]
        if final:
            delivery.status = AlertDelivery.Status.FAILED
        delivery.save(update_fields=["attempts", "last_error", "status"])
        logger.error(
            "alert_delivery_failed",
            delivery_id=delivery.pk,
            channel=delivery.channel,
            attempt=delivery.attempts,
            gave_up=final,
            error=delivery.last_error,
        )
        if final:
            return False
        raise
    delivery.status = AlertDelivery.Status.SENT
    delivery.delivered_at = timezone.now()
    delivery.save(update_fields=["attempts", "status", "delivered_at"])
    logger.info(
        "alert_delivered", delivery_id=delivery.pk, channel=delivery.channel, attempt=delivery.attempts
    )
    return True

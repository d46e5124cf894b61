"""The alert state machine: ok → firing (notify once) → repeat while firing → resolved (notify).

State lives in AlertIncident rows (an open incident per firing rule), so it survives restarts and
any worker can run the evaluation; beat runs it every minute (dealscale.tasks.evaluate_alerts).
"""

from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dealscale import outbox
from ops.models import AlertDelivery, AlertIncident, AlertNotification
from ops.rules import RULES, AlertRule, Observation

logger = structlog.get_logger(__name__)

# The outbox entry of one AlertDelivery (handled in ops/deliveries.py).
ALERT_DELIVERY = "ops.alert_delivery"


def configured_channels() -> list[str]:
    """The webhook channels that have a URL in settings."""
    channels: list[str] = []
    if settings.ALERT_DISCORD_WEBHOOK_URL:
        channels.append(AlertDelivery.Channel.DISCORD)
    if settings.ALERT_SLACK_WEBHOOK_URL:
        channels.append(AlertDelivery.Channel.SLACK)
    return channels


def evaluate_alerts(*, now: datetime | None = None) -> list[AlertNotification]:
    """Evaluate every rule at `now` and record the notifications due, with their deliveries in the outbox."""
    now = now or timezone.now()
    notifications = []
    for rule in RULES:
        observation = rule.check(now)
        notification = _advance(rule=rule, observation=observation, now=now)
        if notification is not None:
            notifications.append(notification)
    return notifications


@transaction.atomic
def _advance(*, rule: AlertRule, observation: Observation, now: datetime) -> AlertNotification | None:
    # The row lock serialises two evaluators that overlap (a slow minute and the next tick), so an
    # incident is notified once; the partial unique constraint backs this up for the first firing.
    incident = (
        AlertIncident.objects.select_for_update().filter(rule=rule.name, resolved_at__isnull=True).first()
    )
    if incident is None:
        if not observation.firing:
            return None
        incident = AlertIncident.objects.create(
            rule=rule.name,
            severity=rule.severity,
            started_at=now,
            last_notified_at=now,
            first_value=observation.value,
            peak_value=observation.value,
            summary=observation.summary[:300],
        )
        return _notify(
            incident=incident, rule=rule, kind=AlertNotification.Kind.FIRING, observation=observation, now=now
        )

    if not observation.firing:
        incident.resolved_at = now
        incident.save(update_fields=["resolved_at"])
        return _notify(
            incident=incident,
            rule=rule,
            kind=AlertNotification.Kind.RESOLVED,
            observation=observation,
            now=now,
        )

    incident.peak_value = max(incident.peak_value, observation.value)
    incident.summary = observation.summary[:300]
    repeat_due = now - incident.last_notified_at >= timedelta(minutes=settings.ALERT_REPEAT_MINUTES)
    if repeat_due:
        incident.last_notified_at = now
    incident.save(update_fields=["peak_value", "summary", "last_notified_at"])
    if not repeat_due:
        return None
    return _notify(
        incident=incident, rule=rule, kind=AlertNotification.Kind.REPEAT, observation=observation, now=now
    )


def _notify(
    *, incident: AlertIncident, rule: AlertRule, kind: str, observation: Observation, now: datetime
) -> AlertNotification:
    notification = AlertNotification.objects.create(
        incident=incident,
        kind=kind,
        value=observation.value,
        message=format_message(rule=rule, incident=incident, kind=kind, observation=observation, now=now),
        created_at=now,
    )
    logger.warning(
        "alert_notification",
        rule=rule.name,
        kind=str(kind),
        severity=str(rule.severity),
        summary=observation.summary,
    )
    for channel in configured_channels():
        delivery = AlertDelivery.objects.create(notification=notification, channel=channel)
        outbox.add(ALERT_DELIVERY, {"delivery_id": delivery.pk}, key=f"alert_delivery:{delivery.pk}")
    return notification


def format_message(
    *, rule: AlertRule, incident: AlertIncident, kind: str, observation: Observation, now: datetime
) -> str:
    """The plain-text message of a notification, shared by every channel."""
    if kind == AlertNotification.Kind.RESOLVED:
        lasted = _duration(now - incident.started_at)
        return f"RESOLVED: {rule.title} (after {lasted}). {observation.summary}"
    label = rule.severity.upper()
    if kind == AlertNotification.Kind.REPEAT:
        lasted = _duration(now - incident.started_at)
        return f"{label} (still firing for {lasted}): {rule.title}. {observation.summary}"
    return f"{label}: {rule.title}. {observation.summary}"


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"

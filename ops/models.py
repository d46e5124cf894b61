"""Alerting's records: incidents, their notifications and each notification's webhook deliveries."""

from django.db import models


class AlertIncident(models.Model):
    """One stretch of time during which an alert rule fired; open while `resolved_at` is empty."""

    class Severity(models.TextChoices):
        CRITICAL = "critical"
        WARNING = "warning"

    rule = models.CharField(max_length=50, db_index=True)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    started_at = models.DateTimeField(db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    last_notified_at = models.DateTimeField()
    # The figure the rule measured when it fired, and the worst one seen while open.
    first_value = models.FloatField()
    peak_value = models.FloatField()
    summary = models.CharField(max_length=300)

    class Meta:
        db_table = "dealscale_alertincident"  # created by the dealscale app before ops had its own
        ordering = ["-started_at", "-id"]
        constraints = [
            # The database half of "fires once": a rule never has two open incidents.
            models.UniqueConstraint(
                fields=["rule"],
                condition=models.Q(resolved_at__isnull=True),
                name="alert_one_open_incident_per_rule",
            )
        ]

    def __str__(self) -> str:
        state = "open" if self.resolved_at is None else f"resolved {self.resolved_at:%Y-%m-%d %H:%M}"
        return f"{self.rule} since {self.started_at:%Y-%m-%d %H:%M} ({state})"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class AlertNotification(models.Model):
    """One message about an incident: when it fired, each reminder while it lasted, and its resolution."""

    class Kind(models.TextChoices):
        FIRING = "firing"
        REPEAT = "repeat", "Still firing"
        RESOLVED = "resolved"

    incident = models.ForeignKey(AlertIncident, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    value = models.FloatField()
    message = models.TextField()
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "dealscale_alertnotification"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.incident.rule} {self.kind} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class AlertDelivery(models.Model):
    """The delivery of one notification to one webhook channel, retried with backoff until it gives up."""

    class Channel(models.TextChoices):
        DISCORD = "discord", "Discord webhook"
        SLACK = "slack", "Slack-compatible webhook"

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"

    notification = models.ForeignKey(AlertNotification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "dealscale_alertdelivery"
        verbose_name_plural = "alert deliveries"
        constraints = [
            models.UniqueConstraint(fields=["notification", "channel"], name="alert_one_delivery_per_channel")
        ]

    def __str__(self) -> str:
        return f"{self.notification} → {self.channel}: {self.status}"


class PreflightRun(models.Model):
    """One `manage.py preflight` run: its outcome and every checklist line, for the health dashboard."""

    class Status(models.TextChoices):
        PASSED = "passed"
        WARNING = "warning"
        FAILED = "failed"

    ran_at = models.DateTimeField(db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    passed = models.PositiveIntegerField()
    warnings = models.PositiveIntegerField()
    failures = models.PositiveIntegerField()
    # [{"key", "section", "label", "status", "detail", "fix"}], in checklist order.
    results = models.JSONField(default=list)
    fixed_commands = models.BooleanField(default=False, help_text="Run with --fix-commands.")
    operator = models.CharField(max_length=150, blank=True, help_text="The shell user who ran it.")

    class Meta:
        ordering = ["-ran_at", "-id"]

    def __str__(self) -> str:
        return f"preflight {self.status} at {self.ran_at:%Y-%m-%d %H:%M}"

    @property
    def problems(self) -> list[dict]:
        """The lines that did not pass, failures first."""
        order = {self.Status.FAILED: 0, self.Status.WARNING: 1}
        lines = [line for line in self.results if line.get("status") != self.Status.PASSED]
        return sorted(lines, key=lambda line: order.get(line.get("status"), 2))

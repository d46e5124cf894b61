"""The alert models move from the dealscale core to ops: state only, the tables keep their names."""

import django.db.models.deletion
from django.db import migrations, models

MOVED_MODELS = ["alertincident", "alertnotification", "alertdelivery"]


def move_content_types(apps, schema_editor):
    # Permissions and admin log entries point at content types: move them rather than orphan them.
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in MOVED_MODELS:
        if not content_type.objects.filter(app_label="ops", model=model).exists():
            content_type.objects.filter(app_label="dealscale", model=model).update(app_label="ops")


def restore_content_types(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.filter(app_label="ops", model__in=MOVED_MODELS).update(app_label="dealscale")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("dealscale", "0002_alerts"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AlertIncident",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("rule", models.CharField(db_index=True, max_length=50)),
                        (
                            "severity",
                            models.CharField(
                                choices=[("critical", "Critical"), ("warning", "Warning")], max_length=16
                            ),
                        ),
                        ("started_at", models.DateTimeField(db_index=True)),
                        ("resolved_at", models.DateTimeField(blank=True, null=True)),
                        ("last_notified_at", models.DateTimeField()),
                        ("first_value", models.FloatField()),
                        ("peak_value", models.FloatField()),
                        ("summary", models.CharField(max_length=300)),
                    ],
                    options={
                        "db_table": "dealscale_alertincident",
                        "ordering": ["-started_at", "-id"],
                        "constraints": [
                            models.UniqueConstraint(
                                condition=models.Q(("resolved_at__isnull", True)),
                                fields=("rule",),
                                name="alert_one_open_incident_per_rule",
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="AlertNotification",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("firing", "Firing"),
                                    ("repeat", "Still firing"),
                                    ("resolved", "Resolved"),
                                ],
                                max_length=16,
                            ),
                        ),
                        ("value", models.FloatField()),
                        ("message", models.TextField()),
                        ("created_at", models.DateTimeField(db_index=True)),
                        (
                            "incident",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="notifications",
                                to="ops.alertincident",
                            ),
                        ),
                    ],
                    options={"db_table": "dealscale_alertnotification", "ordering": ["-created_at", "-id"]},
                ),
                migrations.CreateModel(
                    name="AlertDelivery",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "channel",
                            models.CharField(
                                choices=[
                                    ("discord", "Discord webhook"),
                                    ("slack", "Slack-compatible webhook"),
                                ],
                                max_length=16,
                            ),
                        ),
                        (
                            "status",
                            models.CharField(
                                choices=[("pending", "Pending"), ("sent", "Sent"), ("failed", "Failed")],
                                default="pending",
                                max_length=16,
                            ),
                        ),
                        ("attempts", models.PositiveIntegerField(default=0)),
                        ("last_error", models.CharField(blank=True, max_length=300)),
                        ("delivered_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "notification",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="deliveries",
                                to="ops.alertnotification",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "dealscale_alertdelivery",
                        "verbose_name_plural": "alert deliveries",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("notification", "channel"), name="alert_one_delivery_per_channel"
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, restore_content_types),
    ]

"""The alert models now belong to the ops app (ops 0001 takes them over): state only, no table changes."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("dealscale", "0002_alerts"),
        ("ops", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="AlertDelivery"),
                migrations.DeleteModel(name="AlertNotification"),
                migrations.DeleteModel(name="AlertIncident"),
            ],
            database_operations=[],
        ),
    ]

"""Create the `discord_integration` rollout flag, off for members until an admin starts the rollout.

A deploy must not switch a feature on by itself: the flag starts at 0 % with staff and superusers
included (so they can try it in production), and the 10 % → 50 % → 100 % rollout is an edit of this
flag in the admin (Waffle → Flags): `percent` for the first stages, then `everyone = Yes`
(waffle caps `percent` at 99.9).
"""

from django.db import migrations

FLAG_NAME = "discord_integration"


def create_flag(apps, schema_editor):
    Flag = apps.get_model("waffle", "Flag")
    Flag.objects.get_or_create(
        name=FLAG_NAME,
        defaults={
            "everyone": None,
            "percent": 0,
            "staff": True,
            "superusers": True,
            "note": "Discord sign-in and account linking. Members are bucketed by user id "
            "(accounts.selectors.discord_integration_enabled_for_user), so the web and the bot agree.",
        },
    )


def delete_flag(apps, schema_editor):
    apps.get_model("waffle", "Flag").objects.filter(name=FLAG_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_discord_token"),
        ("waffle", "0004_update_everyone_nullbooleanfield"),
    ]

    operations = [migrations.RunPython(create_flag, delete_flag)]

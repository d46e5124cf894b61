import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from dealscale.celery import app
from dealscale.schedules import PERIODIC_SCHEDULES, ensure_periodic_tasks


@pytest.mark.django_db
def test_migrate_leaves_the_beat_schedules_in_place():
    # The test database was built by `migrate`, which ran the post_migrate hook.
    tasks = {t.name: t for t in PeriodicTask.objects.select_related("interval")}
    recalc = tasks["leaderboard-recalculate"]
    assert recalc.task == "leaderboard.tasks.recalculate_leaderboard"
    assert (recalc.interval.every, recalc.interval.period) == (30, "seconds")
    sync = tasks["discord-role-sync"]
    assert sync.task == "discordbot.tasks.sync_roles"
    assert (sync.interval.every, sync.interval.period) == (300, "seconds")
    assert sync.expire_seconds == 240


@pytest.mark.django_db
def test_ensuring_schedules_is_idempotent_and_keeps_the_admins_enabled_choice():
    PeriodicTask.objects.filter(name="discord-role-sync").update(enabled=False)
    ensure_periodic_tasks()
    call_command("migrate", verbosity=0)
    assert PeriodicTask.objects.filter(name__in=[s.name for s in PERIODIC_SCHEDULES]).count() == len(
        PERIODIC_SCHEDULES
    )
    assert PeriodicTask.objects.get(name="discord-role-sync").enabled is False


def test_every_scheduled_task_is_registered_with_celery():
    app.loader.import_default_modules()
    for schedule in PERIODIC_SCHEDULES:
        assert schedule.task in app.tasks

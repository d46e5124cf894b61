"""The periodic tasks that Celery beat runs, kept in django-celery-beat's tables.

They are written after every `migrate` (idempotently): the task path and interval follow this
file, while `enabled` stays whatever staff chose in the admin.
"""

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class PeriodicSchedule:
    name: str
    task: str
    every_seconds: int
    # A run queued longer than this is dropped: the next tick does the same work, fresher.
    expire_seconds: int


PERIODIC_SCHEDULES = [
    PeriodicSchedule(
        name="leaderboard-recalculate",
        task="leaderboard.tasks.recalculate_leaderboard",
        every_seconds=30,
        expire_seconds=25,
    ),
    PeriodicSchedule(
        name="discord-role-sync",
        task="discordbot.tasks.sync_roles",
        every_seconds=300,
        expire_seconds=240,
    ),
    PeriodicSchedule(
        name="linked-roles-push",
        task="linkedroles.tasks.push_role_connections",
        every_seconds=300,
        expire_seconds=240,
    ),
    PeriodicSchedule(
        name="alerts-evaluate",
        task="dealscale.tasks.evaluate_alerts",
        every_seconds=60,
        expire_seconds=50,
    ),
    PeriodicSchedule(
        name="outbox-relay",
        task="dealscale.outbox.relay",
        every_seconds=10,
        expire_seconds=9,
    ),
    PeriodicSchedule(
        name="outbox-prune",
        task="dealscale.outbox.prune",
        every_seconds=24 * 60 * 60,
        expire_seconds=60 * 60,
    ),
    PeriodicSchedule(
        name="credits-check-ledger",
        task="credits.tasks.check_ledger",
        every_seconds=24 * 60 * 60,
        expire_seconds=60 * 60,
    ),
]


def ensure_periodic_tasks(sender=None, using: str = "default", **kwargs) -> None:
    """Create or update the beat entries of PERIODIC_SCHEDULES."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    for schedule in PERIODIC_SCHEDULES:
        interval, _ = IntervalSchedule.objects.using(using).get_or_create(
            every=schedule.every_seconds, period=IntervalSchedule.SECONDS
        )
        task, created = PeriodicTask.objects.using(using).get_or_create(
            name=schedule.name,
            defaults={
                "task": schedule.task,
                "interval": interval,
                "expire_seconds": schedule.expire_seconds,
                "kwargs": json.dumps({}),
                "enabled": True,
            },
        )
        if not created and (
            task.task != schedule.task
            or task.interval_id != interval.pk
            or task.expire_seconds != schedule.expire_seconds
        ):
            task.task = schedule.task
            task.interval = interval
            task.crontab = task.solar = task.clocked = None
            task.expire_seconds = schedule.expire_seconds
            task.save()


@dataclass(frozen=True)
class ScheduleProblems:
    """Names of PERIODIC_SCHEDULES entries beat would not run as written."""

    missing: list[str]
    different: list[str]  # the row runs another task or at another interval
    disabled: list[str]  # switched off in the admin, perhaps on purpose (pausing role sync)

    def __bool__(self) -> bool:
        return bool(self.missing or self.different or self.disabled)


def schedule_problems(using: str = "default") -> ScheduleProblems:
    """Compare beat's rows with PERIODIC_SCHEDULES."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    rows = {
        task.name: task
        for task in PeriodicTask.objects.using(using)
        .select_related("interval")
        .filter(name__in=[s.name for s in PERIODIC_SCHEDULES])
    }
    missing, different, disabled = [], [], []
    for schedule in PERIODIC_SCHEDULES:
        row = rows.get(schedule.name)
        if row is None:
            missing.append(schedule.name)
            continue
        interval = row.interval
        if (
            row.task != schedule.task
            or interval is None
            or (interval.every, interval.period) != (schedule.every_seconds, IntervalSchedule.SECONDS)
        ):
            different.append(schedule.name)
        if not row.enabled:
            disabled.append(schedule.name)
    return ScheduleProblems(missing=missing, different=different, disabled=disabled)

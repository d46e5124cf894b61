"""Celery tasks of role sync: the 5-minute reconciliation (beat). The runs that staff, links and milestone
changes ask for are outbox entries (rolesync/deliveries.py).

The task names keep their first home ("discordbot.tasks.…") so beat rows and queued messages of a
running deployment stay valid across the move.
"""

import structlog
from celery import shared_task

from dealscale.locks import single_flight
from rolesync import services as rolesync_services

logger = structlog.get_logger(__name__)

ROLE_SYNC_LOCK = "discord-role-sync"


@shared_task(
    name="discordbot.tasks.sync_roles", bind=True, soft_time_limit=260, time_limit=280, max_retries=10
)
def sync_roles(self, run_id: int | None = None, trigger: str = "schedule") -> None:
    """Reconcile milestone roles with the guild, never two runs at once.

    A beat tick that finds a run in progress is dropped (the next tick comes in 5 minutes); a recorded
    run (`run_id`, from messages queued before the outbox) waits for its turn instead.
    """
    with single_flight(ROLE_SYNC_LOCK, ttl_seconds=290) as acquired:
        if not acquired:
            if run_id is not None:
                raise self.retry(countdown=60)
            logger.info("task_skipped_already_running", lock=ROLE_SYNC_LOCK)
            return
        if run_id is None:
            run_id = rolesync_services.create_full_run(trigger=trigger).pk
        rolesync_services.execute_run(run_id=run_id)


@shared_task(name="discordbot.tasks.sync_roles_for_users", ignore_result=True)
def sync_roles_for_users(user_ids: list[int], trigger: str, discord_ids: list[str] | None = None) -> None:
    """A targeted sync queued before the outbox: written to the outbox and delivered from there."""
    rolesync_services.queue_member_sync(trigger=trigger, user_ids=user_ids, discord_ids=discord_ids or ())

"""Celery tasks of role sync: the 5-minute reconciliation and the targeted syncs after a link or unlink.

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

    A beat tick that finds a run in progress is dropped (the next tick comes in 5 minutes); a run
    that staff or the API queued waits for its turn instead.
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


@shared_task(name="discordbot.tasks.sync_roles_for_users", soft_time_limit=260, time_limit=280)
def sync_roles_for_users(user_ids: list[int], trigger: str, discord_ids: list[str] | None = None) -> None:
    """Reconcile the managed roles of a few members now (after a link, an unlink, a deactivation).

    `discord_ids` reaches accounts no longer linked to any user, whose roles must go.
    """
    run = rolesync_services.create_targeted_run(
        trigger=trigger, user_ids=user_ids, discord_ids=discord_ids or ()
    )
    rolesync_services.execute_run(run_id=run.pk)

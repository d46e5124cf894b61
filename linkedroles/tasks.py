"""Celery tasks of Linked Roles."""

from celery import shared_task

from linkedroles import selectors, services


@shared_task(name="linkedroles.tasks.push_role_connections", soft_time_limit=20, time_limit=25)
def push_role_connections() -> None:
    """Beat's safety net (every 5 min): write a pass to the outbox, so that pushes a recalculation did not
    finish (paused by the kill switch, failed, interrupted) are done without waiting for new scores."""
    if selectors.linked_roles_enabled():
        services.queue_push(trigger="beat")

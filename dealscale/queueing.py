"""Handing work to Celery after a transaction commits, without letting a broker outage leak out.

A member's committed request, a moderator's decision or an admin's save must never turn into a 500
because the broker is unreachable: the work that could not be queued is logged (and, where the
caller can, recorded) while the answer stays the committed truth.

`enqueue_on_commit` drops what the broker refuses: it is for work whose loss costs nothing (the next
run does it). A side effect that leaves the database (a DM, a post, a role sync, an alert) goes through
the outbox instead (`dealscale.outbox.add`), which keeps it until it is delivered.
"""

from collections.abc import Callable

import structlog
from celery import Task, current_app
from django.db import transaction
from kombu.exceptions import KombuError

logger = structlog.get_logger(__name__)

BROKER_ERRORS = (KombuError, OSError)


def enqueue_on_commit(
    task: "Task | str", *args, on_failure: Callable[[Exception], None] | None = None, **kwargs
) -> None:
    """Send `task.delay(*args, **kwargs)` once the current transaction commits.

    `task` may be a registered task's name, so a service can queue the task that lives beside it
    (and imports it) without a file-level import cycle. If the broker refuses it, log the failure
    and call `on_failure(exc)`; nothing is raised.
    """

    def send() -> None:
        resolved = _task_named(task) if isinstance(task, str) else task
        try:
            resolved.delay(*args, **kwargs)
        except BROKER_ERRORS as exc:
            logger.error("task_enqueue_failed", task=resolved.name, error=repr(exc))
            if on_failure is not None:
                on_failure(exc)

    transaction.on_commit(send, robust=True)


def _task_named(name: str) -> Task:
    if name not in current_app.tasks:
        # autodiscover_tasks() imports the apps' tasks.py only when a worker starts: a web process or a
        # command that queues a task no module of its own imported must have them imported first.
        current_app.loader.import_default_modules()
    return current_app.tasks[name]

"""Celery tasks of the core: the outbox's delivery, its relay (beat, every 10 s) and its pruning (daily).

Delivery and relay are acknowledged late and given back to the broker when their worker is lost:
re-running them is safe (an entry is claimed under a lock and every handler is idempotent), losing
them is not.
"""

from celery import shared_task

from dealscale import outbox
from dealscale.locks import run_exclusively

# Below OUTBOX_LEASE_SECONDS' default (300), so a claim never outlives its worker's time limit.
DELIVERY_SOFT_TIME_LIMIT = 270
DELIVERY_TIME_LIMIT = 285


@shared_task(
    name=outbox.DELIVER_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=DELIVERY_SOFT_TIME_LIMIT,
    time_limit=DELIVERY_TIME_LIMIT,
)
def deliver_outbox_entry(entry_id: int) -> str:
    """Deliver one outbox entry (a no-op when another worker has it or it is not due)."""
    return outbox.deliver(entry_id)


@shared_task(
    name="dealscale.outbox.relay",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=50,
    time_limit=55,
)
@run_exclusively("outbox-relay", ttl_seconds=58)
def relay_outbox() -> int | None:
    """Hand every due outbox entry to a worker; returns how many."""
    return outbox.relay()


@shared_task(name="dealscale.outbox.prune", ignore_result=True)
def prune_outbox() -> int:
    """Delete delivered outbox entries older than OUTBOX_RETENTION_DAYS."""
    return outbox.prune()

"""Role sync requests as outbox handlers (registered in apps.py): the runs that links, staff and
milestone changes asked for, executed by a worker after the commit that asked.

Re-running one is safe: a run never trusts what an earlier one did, it reads the guild and applies
only the difference. A run that could not read the guild, or finished with failed changes, is retried
with the outbox's backoff by a fresh run.
"""

from dealscale import outbox
from dealscale.locks import single_flight
from dealscale.models import OutboxEntry
from rolesync import services
from rolesync.models import RoleSyncRun
from rolesync.tasks import ROLE_SYNC_LOCK

# A whole-guild run waits this long for the one in progress (a run takes up to 280 s).
BUSY_RETRY_SECONDS = 60
_RETRIED = {RoleSyncRun.Status.FAILED, RoleSyncRun.Status.PARTIAL}


def _outcome(run: RoleSyncRun) -> outbox.Result:
    if run.status in _RETRIED:
        raise outbox.RetryLater(f"Role sync #{run.pk} ended {run.status}: {run.errors[:1]}")
    return {"run_id": run.pk, "status": run.status}


@outbox.handler(services.SYNC_MEMBERS)
def deliver_member_sync(entry: OutboxEntry) -> outbox.Result:
    """Sync the managed roles of the members of a link, unlink or deactivation."""
    run = services.create_targeted_run(
        trigger=entry.payload["trigger"],
        user_ids=entry.payload["user_ids"],
        discord_ids=entry.payload["discord_ids"],
    )
    return _outcome(services.execute_run(run_id=run.pk))


@outbox.handler(services.RUN)
def deliver_run(entry: OutboxEntry) -> outbox.Result:
    """Execute a run staff or the API queued, after the one in progress."""
    with single_flight(ROLE_SYNC_LOCK, ttl_seconds=290) as acquired:
        if not acquired:
            raise outbox.RetryLater("Another role sync is running.", after=BUSY_RETRY_SECONDS)
        return _outcome(services.execute_queued_run(run_id=entry.payload["run_id"]))


@outbox.handler(services.FULL_SYNC)
def deliver_full_sync(entry: OutboxEntry) -> outbox.Result:
    """Run a whole-guild sync after a milestone change, after the one in progress."""
    with single_flight(ROLE_SYNC_LOCK, ttl_seconds=290) as acquired:
        if not acquired:
            raise outbox.RetryLater("Another role sync is running.", after=BUSY_RETRY_SECONDS)
        run = services.create_full_run(trigger=entry.payload["trigger"])
        return _outcome(services.execute_run(run_id=run.pk))

"""The Celery broker transport on Redis: kombu's, made to survive losing Redis.

Found by the Redis drill (ops/tests/test_fault_drills.py): when Redis goes away, kombu 5.7 tears the
connection down while the worker still holds messages it has not acknowledged (a late-acknowledged task
finishing during the outage, a reserved one). Closing the channel then tries to put them back, and the
ack of a task that just finished tries to remove them, through that torn-down connection: `_connparams`
reads `None.client` / `None.hostname`, the AttributeError is not a connection error, and the worker
exits with "Unrecoverable error" instead of reconnecting. Here the torn-down connection raises a
connection error, which every caller handles, and closing skips the restore: the messages are still in
Redis's unacknowledged set, which `restore_visible` sweeps back into the queue after the visibility
timeout (and the outbox hands their entries again anyway).
"""

from typing import Any

from kombu.transport import redis
from redis.exceptions import ConnectionError as RedisConnectionError

TRANSPORT = "dealscale.broker:Transport"


def transport_options(*, visibility_timeout: int) -> dict[str, Any]:
    """The Redis broker's options (CELERY_BROKER_TRANSPORT_OPTIONS); see docs/operations.md, "Celery"."""
    return {
        # A message a worker took but never acknowledged (the worker was killed) goes back to the queue
        # after this many seconds. Longer than any countdown a task uses (60 s); shorter than a delivery
        # may run (285 s) on purpose: a copy redelivered meanwhile finds the entry locked and leaves.
        "visibility_timeout": visibility_timeout,
        # Sweep for such messages every 10 s (kombu's default scans every 100 s), or sooner with a shorter timeout.
        "unacked_restore_interval": min(10, visibility_timeout),
        "unacked_restore_throttle": 1,
        # Publishing with Redis down fails in a fraction of a second instead of retrying the connection
        # for ~6 s per message (found by the Redis drill: an approval then took 18 s to answer). The
        # outbox's relay retries; the worker's consumer has its own reconnection loop.
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.2,
        # A broker that stops answering fails a publish in seconds instead of hanging the request.
        "socket_timeout": 5,
        "socket_connect_timeout": 1,
    }


def _torn_down(channel) -> bool:
    transport = channel.connection
    return transport is None or transport.client is None


class QoS(redis.QoS):
    def restore_unacked(self, client=None):
        if client is None and _torn_down(self.channel):
            if self._delivered is not None:
                self._delivered.clear()
            return
        super().restore_unacked(client)


class Channel(redis.Channel):
    QoS = QoS

    def _connparams(self, asynchronous=False):
        if _torn_down(self):
            raise RedisConnectionError("The connection to Redis was torn down after it was lost.")
        return super()._connparams(asynchronous=asynchronous)  # type: ignore[misc]  # absent from kombu's stubs


class Transport(redis.Transport):
    Channel = Channel

"""Prometheus metrics for `/metrics`.

Two kinds, chosen for being correct with several gunicorn workers and Celery processes:
- request metrics come from django-prometheus' middleware, in-process counters (with gunicorn's
  several workers, set PROMETHEUS_MULTIPROC_DIR so that every worker's counters are merged);
- everything else is read at scrape time from shared state: the database (bot heartbeat, command
  invocations, OAuth callbacks, role sync runs, alerts, credit requests, each through its app's
  selectors) and Redis (Celery task outcomes, counted by signal handlers in the worker). These are
  the same whichever process answers.
"""

from datetime import timedelta

from celery.signals import task_failure, task_retry, task_success
from django.conf import settings
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from accounts.selectors import oauth_attempt_counts
from credits.selectors import pending_request_count
from dealscale.outbox import backlog
from dealscale.redis_client import get_redis
from discordbot.selectors import command_counts_by_outcome, heartbeat_is_fresh, latest_heartbeat
from linkedroles.selectors import linked_roles_summary
from ops.models import AlertIncident
from ops.rules import RULES
from rolesync.selectors import last_finished_run, run_counts_by_status

RECENT_WINDOW = timedelta(minutes=5)
TASK_COUNTS_KEY = "dealscale:metrics:celery_tasks"


def _count_task(sender, state: str) -> None:
    redis = get_redis()
    if redis is None:
        # The embedded mode has no shared store for worker counters; /metrics shows none there.
        return
    redis.hincrby(TASK_COUNTS_KEY, f"{sender.name}|{state}", 1)


@task_success.connect
def _task_succeeded(sender=None, **kwargs) -> None:
    _count_task(sender, "success")


@task_failure.connect
def _task_failed(sender=None, **kwargs) -> None:
    _count_task(sender, "failure")


@task_retry.connect
def _task_retried(sender=None, **kwargs) -> None:
    _count_task(sender, "retry")


class DealScaleCollector:
    """Business and integration metrics computed from shared state at each scrape."""

    def collect(self):
        now = timezone.now()
        yield from self._bot(now)
        yield from self._commands(now)
        yield from self._oauth(now)
        yield from self._role_sync(now)
        yield from self._linked_roles()
        yield from self._outbox()
        yield from self._tasks()
        yield from self._alerts()
        pending = GaugeMetricFamily(
            "dealscale_credit_requests_pending", "Credit requests waiting for a moderator."
        )
        pending.add_metric([], pending_request_count())
        yield pending

    def _bot(self, now):
        heartbeat = latest_heartbeat()
        online = heartbeat_is_fresh(heartbeat, now=now)
        up = GaugeMetricFamily("dealscale_bot_up", "1 when a bot process sent a heartbeat recently.")
        up.add_metric([], 1 if online else 0)
        yield up
        if heartbeat is None:
            return
        age = GaugeMetricFamily(
            "dealscale_bot_heartbeat_age_seconds", "Seconds since the latest bot heartbeat."
        )
        age.add_metric([], (now - heartbeat.last_seen_at).total_seconds())
        yield age
        uptime = GaugeMetricFamily(
            "dealscale_bot_uptime_seconds", "Seconds since the live bot process started."
        )
        uptime.add_metric([], (now - heartbeat.started_at).total_seconds() if online else 0)
        yield uptime
        if heartbeat.latency_ms is not None:
            latency = GaugeMetricFamily(
                "dealscale_bot_gateway_latency_ms", "Gateway latency of the live bot."
            )
            latency.add_metric([], heartbeat.latency_ms)
            yield latency

    def _commands(self, now):
        rows = command_counts_by_outcome(since=now - RECENT_WINDOW)
        count = GaugeMetricFamily(
            "dealscale_discord_commands_5m",
            "Bot commands handled in the last 5 minutes.",
            labels=["command", "outcome"],
        )
        avg = GaugeMetricFamily(
            "dealscale_discord_command_duration_ms_avg_5m",
            "Average handling time of bot commands in the last 5 minutes.",
            labels=["command", "outcome"],
        )
        for row in rows:
            count.add_metric([row["command"], row["outcome"]], row["count"])
            avg.add_metric([row["command"], row["outcome"]], row["avg_ms"])
        yield count
        yield avg

    def _oauth(self, now):
        counts = oauth_attempt_counts(since=now - RECENT_WINDOW)
        attempts = GaugeMetricFamily(
            "dealscale_oauth_attempts_5m",
            "OAuth callbacks in the last 5 minutes.",
            labels=["provider", "outcome"],
        )
        for (provider, succeeded), count in counts.items():
            attempts.add_metric([provider, "success" if succeeded else "failure"], count)
        yield attempts

    def _role_sync(self, now):
        runs = GaugeMetricFamily(
            "dealscale_role_sync_runs_24h", "Role sync runs in the last 24 hours.", labels=["status"]
        )
        for status, count in run_counts_by_status(since=now - timedelta(hours=24)).items():
            runs.add_metric([status], count)
        yield runs
        last = last_finished_run()
        if last is None:
            return
        finished = GaugeMetricFamily(
            "dealscale_role_sync_last_finished_timestamp_seconds",
            "When the latest role sync run finished (Unix time).",
            labels=["status"],
        )
        finished.add_metric([last.status], last.finished_at.timestamp())
        yield finished
        changes = GaugeMetricFamily(
            "dealscale_role_sync_last_run_changes",
            "Role changes of the latest finished run.",
            labels=["result"],
        )
        for result in ("planned", "applied", "failed", "skipped"):
            changes.add_metric([result], getattr(last, result))
        yield changes

    def _outbox(self):
        waiting = backlog()
        entries = GaugeMetricFamily(
            "dealscale_outbox_entries",
            "Outbox entries waiting or being delivered, and those that failed for good in the last 24 h.",
            labels=["status"],
        )
        entries.add_metric(["pending"], waiting.pending)
        entries.add_metric(["delivering"], waiting.delivering)
        entries.add_metric(["failed_24h"], waiting.failed_last_day)
        yield entries
        lag = GaugeMetricFamily(
            "dealscale_outbox_oldest_due_seconds", "How long the longest-waiting due outbox entry has waited."
        )
        lag.add_metric([], waiting.oldest_due_seconds or 0.0)
        yield lag

    def _linked_roles(self):
        summary = linked_roles_summary()
        members = GaugeMetricFamily(
            "dealscale_linked_roles_members",
            "Members by Linked Roles state: granted the scope, pushed to Discord, last push failing.",
            labels=["state"],
        )
        for state in ("granted", "pushed", "failing"):
            members.add_metric([state], getattr(summary, state))
        yield members
        paused = GaugeMetricFamily(
            "dealscale_linked_roles_paused", "1 while role-connection pushes are paused."
        )
        paused.add_metric([], int(summary.paused))
        yield paused
        if summary.last_pushed_at is not None:
            last = GaugeMetricFamily(
                "dealscale_linked_roles_last_push_timestamp_seconds",
                "When a member's role connection was last pushed (Unix time).",
            )
            last.add_metric([], summary.last_pushed_at.timestamp())
            yield last

    def _tasks(self):
        counter = CounterMetricFamily(
            "dealscale_celery_tasks",
            "Celery task outcomes recorded by the workers.",
            labels=["task", "state"],
        )
        redis = get_redis()
        counts = redis.hgetall(TASK_COUNTS_KEY) if redis is not None else {}
        for field, value in sorted(counts.items()):
            task, _, state = field.decode().rpartition("|")
            counter.add_metric([task, state], int(value))
        yield counter

    def _alerts(self):
        firing = GaugeMetricFamily(
            "dealscale_alert_firing", "1 while an alert rule fires.", labels=["rule", "severity"]
        )
        open_rules = set(
            AlertIncident.objects.filter(resolved_at__isnull=True).values_list("rule", flat=True)
        )
        for rule in RULES:
            firing.add_metric([rule.name, rule.severity], 1 if rule.name in open_rules else 0)
        yield firing


def render_metrics() -> bytes:
    """The Prometheus text exposition of every metric this process can see."""
    if settings.PROMETHEUS_MULTIPROC_DIR:
        process_registry = CollectorRegistry()
        MultiProcessCollector(process_registry)
    else:
        process_registry = REGISTRY
    shared_registry = CollectorRegistry(auto_describe=False)
    shared_registry.register(DealScaleCollector())
    return generate_latest(process_registry) + generate_latest(shared_registry)

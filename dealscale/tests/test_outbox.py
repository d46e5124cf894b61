"""The outbox: written with the change, handed to workers, delivered once, retried with backoff, listed in the admin."""

import json
import os
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from celery.app.task import Task
from django.db import connection, connections, transaction
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from accounts.tests.factories import UserFactory
from dealscale import outbox, tasks
from dealscale.models import OutboxEntry

pytestmark = pytest.mark.django_db

OK = "tests.outbox.ok"
FLAKY = "tests.outbox.flaky"
BROKEN = "tests.outbox.broken"
REFUSED = "tests.outbox.refused"
calls: list[int] = []


@outbox.handler(OK)
def _deliver_ok(entry):
    calls.append(entry.pk)
    return {"done": entry.payload.get("n")}


@outbox.handler(FLAKY, max_attempts=lambda: 3, backoff=lambda attempt: 7 * attempt)
def _deliver_flaky(entry):
    raise outbox.RetryLater("not now", after=entry.payload.get("after"))


@outbox.handler(BROKEN)
def _deliver_broken(entry):
    raise ZeroDivisionError("a bug")


@outbox.handler(REFUSED)
def _deliver_refused(entry):
    raise outbox.Undeliverable("refused for good")


@pytest.fixture(autouse=True)
def _no_calls():
    calls.clear()


@pytest.fixture
def handed(monkeypatch):
    """The entry ids handed to the broker (instead of a broker)."""
    sent: list[int] = []

    def apply_async(self, args=None, kwargs=None, **options):
        assert self.name == outbox.DELIVER_TASK and options == {"retry": False}
        sent.append(args[0])

    monkeypatch.setattr(Task, "apply_async", apply_async)
    return sent


@pytest.fixture
def broker_down(monkeypatch):
    def refuse(self, *args, **kwargs):
        raise OperationalError("[Errno 111] Connection refused")

    monkeypatch.setattr(Task, "apply_async", refuse)


# --- writing ---------------------------------------------------------------------------------------
def test_an_entry_is_written_with_the_change_and_kicked_once_it_commits(
    handed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            UserFactory()
            entry = outbox.add(OK, {"n": 1})
            assert handed == []

    assert handed == [entry.pk]
    entry.refresh_from_db()
    assert (entry.status, entry.attempts, entry.handed_at is not None) == ("pending", 0, True)


def test_a_rolled_back_change_leaves_no_entry_and_kicks_nothing(handed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ZeroDivisionError):
        with transaction.atomic():
            outbox.add(OK)
            raise ZeroDivisionError
    assert not OutboxEntry.objects.exists()
    assert handed == []


def test_the_same_key_is_written_once(handed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = outbox.add(OK, {"n": 1}, key="event:1")
        again = outbox.add(OK, {"n": 2}, key="event:1")
    assert again.pk == first.pk and again.payload == {"n": 1}
    assert handed == [first.pk]
    assert outbox.entry_for("event:1") == first


def test_a_broker_outage_at_commit_leaves_the_entry_to_the_relay(
    broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        entry = outbox.add(OK)
    entry.refresh_from_db()
    assert (entry.status, entry.handed_at) == ("pending", None)


# --- the relay -------------------------------------------------------------------------------------
def test_the_relay_hands_every_due_entry_never_handed_or_handed_too_long_ago(handed, settings):
    settings.OUTBOX_HANDOFF_TIMEOUT_SECONDS = 60
    now = timezone.now()
    never = outbox.add(OK)
    lost = outbox.add(OK)
    recent = outbox.add(OK)
    later = outbox.add(OK)
    done = outbox.add(OK)
    OutboxEntry.objects.filter(pk=lost.pk).update(handed_at=now - timedelta(seconds=61))
    OutboxEntry.objects.filter(pk=recent.pk).update(handed_at=now - timedelta(seconds=5))
    OutboxEntry.objects.filter(pk=later.pk).update(next_attempt_at=now + timedelta(minutes=1))
    OutboxEntry.objects.filter(pk=done.pk).update(status="delivered")

    assert outbox.relay() == 2
    assert sorted(handed) == [never.pk, lost.pk]
    assert outbox.relay() == 0


def test_the_relay_stops_at_a_broker_outage_and_hands_everything_once_it_is_back(monkeypatch):
    broker = {"up": False, "sent": []}

    def apply_async(self, args=None, kwargs=None, **options):
        if not broker["up"]:
            raise OperationalError("[Errno 111] Connection refused")
        broker["sent"].append(args[0])

    monkeypatch.setattr(Task, "apply_async", apply_async)
    entries = [outbox.add(OK) for _ in range(3)]
    assert outbox.relay() == 0
    assert not OutboxEntry.objects.filter(handed_at__isnull=False).exists()

    broker["up"] = True
    assert outbox.relay() == 3
    assert broker["sent"] == [e.pk for e in entries]


def test_the_relay_hands_an_entry_whose_worker_died_mid_delivery_but_not_one_being_delivered(handed):
    dead, alive = outbox.add(OK), outbox.add(OK)
    OutboxEntry.objects.filter(pk__in=[dead.pk, alive.pk]).update(
        status="delivering", attempts=1, lease_until=timezone.now() + timedelta(minutes=5)
    )
    with held_elsewhere(alive.pk):
        assert outbox.relay() == 1
    assert handed == [dead.pk]

    # The new worker takes the dead one's claim over; the live one is left to its worker.
    assert outbox.deliver(dead.pk) == "delivered"
    dead.refresh_from_db()
    assert (dead.status, dead.attempts) == ("delivered", 2)


def test_the_beat_relay_runs_every_ten_seconds():
    from dealscale.schedules import PERIODIC_SCHEDULES

    [relay] = [s for s in PERIODIC_SCHEDULES if s.task == "dealscale.outbox.relay"]
    assert (relay.every_seconds, relay.expire_seconds) == (10, 9)


# --- delivering ------------------------------------------------------------------------------------
def test_a_delivered_entry_keeps_its_result_and_is_never_delivered_again():
    entry = outbox.add(OK, {"n": 7})

    assert outbox.deliver(entry.pk) == "delivered"
    assert outbox.deliver(entry.pk) == "not due"

    entry.refresh_from_db()
    assert (entry.status, entry.attempts, entry.result) == ("delivered", 1, {"done": 7})
    assert entry.delivered_at is not None and entry.lease_until is None
    assert calls == [entry.pk]


def test_an_entry_another_worker_holds_is_left_to_it():
    entry = outbox.add(OK)
    with held_elsewhere(entry.pk):
        assert outbox.deliver(entry.pk) == "busy"
    assert calls == []
    assert outbox.deliver(entry.pk) == "delivered"


def test_a_retry_later_waits_what_the_handler_asked_then_the_backoff_and_fails_after_max_attempts():
    asked, backoff = outbox.add(FLAKY, {"after": 30}), outbox.add(FLAKY)
    before = timezone.now()

    assert outbox.deliver(asked.pk) == outbox.deliver(backoff.pk) == "pending"
    asked.refresh_from_db()
    backoff.refresh_from_db()
    assert before + timedelta(seconds=30) <= asked.next_attempt_at <= timezone.now() + timedelta(seconds=30)
    assert backoff.next_attempt_at >= before + timedelta(seconds=7)
    assert (backoff.attempts, backoff.last_error, backoff.handed_at) == (1, "not now", None)
    assert outbox.deliver(backoff.pk) == "not due"

    for _ in range(2):
        OutboxEntry.objects.filter(pk=backoff.pk).update(next_attempt_at=timezone.now())
        outbox.deliver(backoff.pk)
    backoff.refresh_from_db()
    assert (backoff.status, backoff.attempts) == ("failed", 3)


def test_a_crashing_handler_is_recorded_and_retried_with_the_default_backoff(settings):
    settings.OUTBOX_FIRST_BACKOFF_SECONDS = 5
    entry = outbox.add(BROKEN)
    before = timezone.now()

    assert outbox.deliver(entry.pk) == "pending"

    entry.refresh_from_db()
    assert entry.last_error == "ZeroDivisionError: a bug"
    assert entry.next_attempt_at >= before + timedelta(seconds=5)


def test_backoff_doubles_up_to_its_cap(settings):
    settings.OUTBOX_FIRST_BACKOFF_SECONDS = 5
    settings.OUTBOX_MAX_BACKOFF_SECONDS = 60
    assert [outbox.default_backoff(n) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]


def test_an_undeliverable_entry_fails_at_once():
    entry = outbox.add(REFUSED)
    assert outbox.deliver(entry.pk) == "failed"
    entry.refresh_from_db()
    assert (entry.status, entry.attempts, entry.last_error) == ("failed", 1, "refused for good")


def test_an_unknown_kind_waits_for_a_worker_that_knows_it():
    entry = outbox.add("tests.outbox.from_a_newer_release")
    assert outbox.deliver(entry.pk) == "pending"
    entry.refresh_from_db()
    assert "No handler" in entry.last_error


def test_an_entry_whose_attempts_keep_dying_with_their_worker_is_given_up(settings):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    entry = outbox.add(OK)
    OutboxEntry.objects.filter(pk=entry.pk).update(status="delivering", attempts=3)

    assert outbox.deliver(entry.pk) == "failed"
    assert calls == []


def test_a_stale_worker_cannot_overwrite_the_entry_another_worker_took_over():
    entry = outbox.add(OK)
    claimed = outbox._claim(entry.pk)
    OutboxEntry.objects.filter(pk=entry.pk).update(attempts=2)  # taken over meanwhile
    outbox._run(claimed)
    entry.refresh_from_db()
    assert (entry.status, entry.attempts) == ("delivering", 2)


# --- staff -----------------------------------------------------------------------------------------
def test_retry_now_makes_pending_and_failed_entries_due_and_leaves_delivered_ones(handed):
    failed, waiting, delivered = outbox.add(REFUSED), outbox.add(FLAKY), outbox.add(OK)
    for entry in (failed, waiting, delivered):
        outbox.deliver(entry.pk)

    assert outbox.retry_now([failed.pk, waiting.pk, delivered.pk]) == 2

    failed.refresh_from_db()
    waiting.refresh_from_db()
    assert failed.status == waiting.status == "pending"
    assert failed.next_attempt_at <= timezone.now() and waiting.next_attempt_at <= timezone.now()
    assert OutboxEntry.objects.get(pk=delivered.pk).status == "delivered"


def test_the_admin_lists_entries_with_their_errors_and_retries_them(client, handed):
    failed, delivered = outbox.add(REFUSED, key="event:refused"), outbox.add(OK)
    outbox.deliver(failed.pk)
    outbox.deliver(delivered.pk)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    changelist = reverse("admin:dealscale_outboxentry_changelist")

    response = client.get(changelist, {"status__exact": "failed"})
    assert response.context["cl"].result_count == 1
    assert "refused for good" in response.content.decode()

    response = client.post(
        changelist, {"action": "retry_now", "_selected_action": [failed.pk, delivered.pk]}, follow=True
    )
    page = response.content.decode()
    assert "1 entry queued for a new attempt." in page
    assert "1 delivered or in-progress entry was left alone." in page
    assert OutboxEntry.objects.get(pk=failed.pk).status == "pending"


def test_staff_without_the_change_permission_see_the_outbox_but_cannot_retry(client):
    from django.contrib.auth.models import Permission

    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_outboxentry"))
    client.force_login(staff)
    response = client.get(reverse("admin:dealscale_outboxentry_changelist"))
    assert response.status_code == 200
    assert "retry_now" not in response.content.decode()


def test_delivered_entries_are_pruned_after_the_retention_period():
    old, recent, waiting = outbox.add(OK), outbox.add(OK), outbox.add(FLAKY)
    for entry in (old, recent):
        outbox.deliver(entry.pk)
    OutboxEntry.objects.filter(pk__in=[old.pk, waiting.pk]).update(
        delivered_at=timezone.now() - timedelta(days=31)
    )

    assert outbox.prune(older_than_days=30) == 1
    assert sorted(OutboxEntry.objects.values_list("pk", flat=True)) == [recent.pk, waiting.pk]


# --- Celery ----------------------------------------------------------------------------------------
def test_delivery_and_relay_are_acknowledged_late_and_given_back_when_their_worker_is_lost():
    for task in (tasks.deliver_outbox_entry, tasks.relay_outbox):
        assert (task.acks_late, task.reject_on_worker_lost) == (True, True)
    # A claim outlives no worker's time limit.
    assert tasks.DELIVERY_TIME_LIMIT < 300


def test_workers_reserve_one_message_each_and_the_broker_redelivers_a_lost_one_within_minutes():
    from dealscale.celery import app

    assert app.conf.worker_prefetch_multiplier == 1
    # The broker options follow CELERY_BROKER_URL, read once at start-up: ask a fresh process.
    script = "from django.conf import settings; print(json.dumps(settings.CELERY_BROKER_TRANSPORT_OPTIONS))"
    env = {
        **os.environ,
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        "DJANGO_SETTINGS_MODULE": "dealscale.settings",
    }
    output = subprocess.run(
        [sys.executable, "-c", f"import json, django; django.setup(); {script}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    options = json.loads(output.strip().splitlines()[-1])
    assert options["visibility_timeout"] == 120
    assert options["unacked_restore_interval"] * options["unacked_restore_throttle"] == 10
    # A publish with Redis down gives up at once (the outbox retries), instead of ~6 s per message.
    assert (options["max_retries"], options["interval_start"]) == (1, 0)
    assert options["socket_timeout"] and options["socket_connect_timeout"]


class held_elsewhere:
    """Hold an entry's advisory lock from another database session, as a live worker would."""

    def __init__(self, entry_id: int) -> None:
        self.key = outbox._LOCK_PREFIX + entry_id
        self.locked, self.release, self.done = threading.Event(), threading.Event(), threading.Event()

    def _hold(self) -> None:
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s)", [self.key])
                self.locked.set()
                self.release.wait(10)
                cursor.execute("SELECT pg_advisory_unlock(%s)", [self.key])
        finally:
            other.close()
            self.done.set()

    def __enter__(self):
        assert connection.vendor == "postgresql"
        threading.Thread(target=self._hold, daemon=True).start()
        assert self.locked.wait(10)
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.done.wait(10)

"""A broker outage after commit is logged, never turned into an error for what already committed, and
loses nothing: what could not be handed to the broker waits in the outbox for the relay."""

import pytest
from celery.app.task import Task
from kombu.exceptions import OperationalError
from rest_framework.test import APIClient

from accounts.services import create_api_token
from credits.models import CreditRequest
from credits.tests.factories import ModeratorFactory, UserFactory
from dealscale.models import OutboxEntry
from dealscale.queueing import enqueue_on_commit
from rolesync.models import RoleSyncRun
from rolesync.tasks import sync_roles
from rolesync.tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down(monkeypatch):
    def refuse(self, *args, **kwargs):
        raise OperationalError("[Errno 111] Connection refused")

    monkeypatch.setattr(Task, "apply_async", refuse)


def api_client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {create_api_token(user=user)[1]}")
    return client


def test_a_refused_task_is_reported_to_the_caller_and_not_raised(
    broker_down, django_capture_on_commit_callbacks
):
    failures = []
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_on_commit(sync_roles, on_failure=failures.append)
    assert len(failures) == 1 and isinstance(failures[0], OperationalError)


def test_a_credit_request_filed_while_the_broker_is_down_is_a_201(
    broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(UserFactory()).post(
            "/api/credit-requests", {"amount": 50, "reason": "Prizes for the weekly quiz"}, format="json"
        )
    assert response.status_code == 201
    assert CreditRequest.objects.filter(pk=response.json()["id"], status="pending").exists()


def test_an_approval_while_the_broker_is_down_is_a_200(broker_down, django_capture_on_commit_callbacks):
    request = CreditRequest.objects.create(
        user=UserFactory(), amount=50, reason="Prizes for the weekly quiz", source="api"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(ModeratorFactory()).post(
            f"/api/admin/credit-requests/{request.pk}/approve", {"note": ""}, format="json"
        )
    assert response.status_code == 200
    assert response.json()["status"] == "approved"


def test_a_role_sync_requested_while_the_broker_is_down_stays_queued_until_the_relay_hands_it_over(
    broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(StaffFactory()).post("/admin/discord/sync-roles", {}, format="json")
    assert response.status_code == 202
    run = RoleSyncRun.objects.get(pk=response.json()["run_id"])
    assert run.status == RoleSyncRun.Status.QUEUED
    entry = OutboxEntry.objects.get(kind="rolesync.run")
    assert (entry.payload, entry.status, entry.handed_at) == ({"run_id": run.pk}, "pending", None)


def test_a_process_that_never_imported_a_tasks_module_still_queues_its_task_by_name():
    """Celery imports the apps' tasks.py only when a worker starts; a web process or a command may not have."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import django; django.setup()\n"
        "import sys\n"
        "assert 'credits.tasks' not in sys.modules\n"
        "from dealscale.queueing import _task_named\n"
        "print(_task_named('credits.tasks.check_ledger').name)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "dealscale.settings", "DEBUG": "true"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "credits.tasks.check_ledger"

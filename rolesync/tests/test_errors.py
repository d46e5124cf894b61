"""The refusals of role sync carry what every door needs: a code, a message and an HTTP status."""

import pytest

from accounts.models import AuditEvent
from dealscale.errors import Conflict, DomainError
from rolesync import errors, services
from rolesync.models import RoleSyncRun

pytestmark = pytest.mark.django_db


def test_confirming_a_run_that_is_not_held_is_a_409_conflict():
    run = RoleSyncRun.objects.create(trigger="schedule", status="succeeded")

    with pytest.raises(errors.RunNotAwaitingConfirmation) as raised:
        services.confirm_run(run_id=run.pk, actor=None, source=AuditEvent.Source.ADMIN)

    assert isinstance(raised.value, Conflict)
    assert raised.value.status == 409
    assert raised.value.api_body() == {
        "detail": f"Role sync #{run.pk} is not waiting for a confirmation.",
        "code": "not_awaiting_confirmation",
    }


def test_an_invalid_configuration_is_a_400_with_every_message():
    with pytest.raises(errors.InvalidConfiguration) as raised:
        services.import_milestones(data={"tracks": [{"name": ""}]}, actor=None, source=AuditEvent.Source.CLI)

    error = raised.value
    assert isinstance(error, DomainError)
    assert error.status == 400
    assert len(error.errors) == 3
    assert error.api_body() == {
        "detail": "3 error(s) in the milestones configuration",
        "code": "invalid_configuration",
        "errors": error.errors,
    }

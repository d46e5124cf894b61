"""The API keeps the promises of its OpenAPI schema: schemathesis with every check, in the suite.

Every operation of /api/schema/ is run through schemathesis' examples, coverage and fuzzing phases
(`@schema.parametrize()`), then sequences of calls through its stateful phase (`as_state_machine()`),
as a moderator (staff) and as a member, each with an API token. Every check is on (schemathesis
enables all of them unless told otherwise): not_a_server_error, status_code_conformance,
content_type_conformance, response_headers_conformance, response_schema_conformance,
negative_data_rejection, positive_data_acceptance, missing_required_header, unsupported_method,
use_after_free, ensure_resource_availability, ignored_auth... and none may fail.

Bounded and repeatable: a fixed seed, derandomized Hypothesis, a few examples per operation, no
example database. What the schema cannot know is set up rather than checked away:
- the throttles and the per-member credit limits (CREDITS_MAX_PENDING, CREDITS_DAILY_CAP) are raised
  for the run: they refuse valid requests by design, and their refusals (429, 400 `limit_exceeded`)
  have tests of their own;
- a role sync names users that exist: an id of no user is a 400 (rolesync/tests/test_doors.py), so
  the valid bodies schemathesis draws get the ids of the run's users.
The score webhook is left out: a valid call needs an HMAC signature over the exact body, and whether
an event is accepted depends on the clock (`occurred_at` at most 5 minutes ahead) and on who exists;
its signature parsing is property-tested in leaderboard/tests/test_signing_properties.py and its API
in leaderboard/tests/test_score_events_api.py.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from accounts.services import create_api_token
from accounts.tests.factories import UserFactory
from credits.tests.factories import ModeratorFactory
from dealscale.wsgi import application

SEED = 20261201
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {"database": "none"},
        "phases": {"stateful": {"max-steps": 10}},
    }
)
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, config=CONFIG).exclude(
    path="/api/score-events"
)
SYNC_ROLES = "POST /admin/discord/sync-roles"
# Hypothesis' per-test health checks expect no function-scoped fixture and fast, unfiltered data; the
# fixtures here (a database transaction, the callers' tokens) are meant to last for the whole test.
FUZZ_SETTINGS = settings(
    max_examples=10,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


class Caller:
    def __init__(self, user, *, known_user_ids: list[int]):
        _, self.token = create_api_token(user=user, name="schemathesis")
        self.headers = {"Authorization": f"Bearer {self.token}"}
        self.known_user_ids = known_user_ids

    def prepare(self, case) -> None:
        """Give a valid role-sync body the ids of users that exist (see the module's docstring)."""
        meta = case.meta
        if (
            case.operation.label == SYNC_ROLES
            and meta is not None
            and meta.generation.mode.is_positive
            and isinstance(case.body, dict)
            and isinstance(case.body.get("user_ids"), list)
        ):
            ids = self.known_user_ids
            case.body["user_ids"] = [ids[index % len(ids)] for index in range(len(case.body["user_ids"]))]


@pytest.fixture(autouse=True)
def _requests_share_the_test_transaction():
    """As Django's test client does: a request must not close the connection holding the test's data."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _limits_raised_for_the_run(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            scope: "1000000/minute" for scope in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
        },
    }
    settings.CREDITS_MAX_PENDING = 1_000_000
    settings.CREDITS_DAILY_CAP = 10**12


@pytest.fixture(params=["moderator", "member"])
def caller(request, db):
    others = [UserFactory(username=f"fuzz-other-{n}").pk for n in range(3)]
    user = ModeratorFactory(username="fuzz-moderator") if request.param == "moderator" else UserFactory()
    return Caller(user, known_user_ids=[user.pk, *others])


@schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_answers_as_its_schema_says(case, caller):
    caller.prepare(case)
    case.call_and_validate(headers=caller.headers)


def test_sequences_of_calls_answer_as_the_schema_says(caller):
    class Workflow(schema.as_state_machine()):
        def before_call(self, case):
            caller.prepare(case)

        def get_call_kwargs(self, case):
            return {"headers": caller.headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            # As call_and_validate does: the checks must know which headers the caller set (its token).
            case.validate_response(
                response,
                additional_checks=additional_checks,
                headers=kwargs["headers"],
                transport_kwargs=kwargs,
            )

    Workflow.run(
        settings=settings(
            FUZZ_SETTINGS, max_examples=8, stateful_step_count=10, suppress_health_check=list(HealthCheck)
        )
    )

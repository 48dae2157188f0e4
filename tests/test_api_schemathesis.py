"""Schemathesis against the API's own OpenAPI schema: no request answers 5xx, and every answer
(status, content type, headers, body) is one the schema documents.

In process, through Django's real WSGI handler (middleware, authentication, the error
handler), on the demo data, with a real device token for each of a monitor, a coordinator and
a duty officer. Three passes:

- every operation × each role let through: the schema's examples and generated requests
  (valid and invalid); path parameters are half the time a real object of the demo data
  (each role sees its own subset; the rest must be 404), half the time whatever the schema
  allows;
- the coverage phase (boundary values, every enum value, each optional field alone) on the
  operations that name no object, where it is not spent on 404s, as one role let through
  (COVERAGE_ROLES);
- stateful scenarios that chain operations along the schema's links (a report filed, then read,
  edited, submitted, reviewed; a patrol planned, then submitted, approved...).

The roles "let through" are those the declared authorisation table
(tests/authorization_table.py) does not refuse by role: a refused role is refused before its
request is read, 403 for every one of its cases, and the table's own test asks for that
refusal on every operation (an operation none of these roles may call runs as the first of
them, so that its refusal is checked against the schema too).

Deterministic: a fixed seed, no example database; every example (and every scenario) runs in a
savepoint rolled back afterwards, so each starts from the same demo data.
"""

import functools
import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from core.models import DeviceToken, User
from liaison.models import Contact, FollowUp
from patrols.models import ItineraryNotification, PatrolPlan
from reports.models import DailySummary, IncidentReport, SummaryArtefact
from tests.authorization_table import API, REFUSED

pytestmark = [pytest.mark.django_db, pytest.mark.long]

ROLES = ["monitor", "coordinator", "duty_officer"]
# The coverage phase's cases are about the request's values (boundaries, every enum value,
# each optional field alone), not about who sends them: they go as one role the table lets
# through, the one that sees the most (mission-wide staff, then a monitor), while generated
# requests go as every role let through.
COVERAGE_ROLES = ("duty_officer", "coordinator", "monitor")
# Generated requests per operation and role (the schema's examples and the coverage phase come
# on top). 59 operations × the roles let through × 10: about 1,000 requests.
FUZZ_EXAMPLES = 10
# Stateful: scenarios per role, and at most this many linked calls in each. A monitor's links
# start from a list that holds reports (most generated filters match none) or a report
# filed with a generated place in the mission area: with 6 steps a scenario rarely got to
# one, and whether any did came down to the generated sequence (a change of the schema
# reshuffles it).
SCENARIOS, STEPS = 25, 10

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
]
# Not asked of this API: how strict it is beyond its schema (a well-formed request refused by
# a business rule, a malformed one that a lenient filter ignores), and the authorisation
# checks, which the declared authorisation table tests for every role.
NOT_CHECKED = [
    "positive_data_acceptance",
    "negative_data_rejection",
    "missing_required_header",
    "ignored_auth",
    "object_level_authorization",
    "use_after_free",
    "ensure_resource_availability",
    "unsupported_method",
    "allow_header_conformance",
]


def openapi_document():
    """The schema /api/schema/ serves, made by the same generator (that URL needs a login)."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(json.dumps(document, default=str))  # lazy strings and dates as JSON


def config(phases):
    return schemathesis.Config.from_dict(
        {
            "seed": 11,
            "generation": {"deterministic": True, "database": "none"},
            "phases": phases,
            "checks": {
                **{name: {"enabled": True} for name in CHECKS},
                **{name: {"enabled": False} for name in NOT_CHECKED},
            },
        }
    )


DOCUMENT = openapi_document()
APP = get_wsgi_application()
SCHEMA = schemathesis.openapi.from_dict(
    DOCUMENT, config=config({"coverage": {"enabled": False}, "stateful": {"max-steps": STEPS}})
)
SCHEMA.app = APP
COVERAGE = schemathesis.openapi.from_dict(
    DOCUMENT, config=config({"examples": {"enabled": False}, "fuzzing": {"enabled": False}})
).include(path_regex=r"^[^{]*$")
COVERAGE.app = APP

# Path parameters of real objects, per path template: read from the demo data on first use
# once demo_world has made it (the schema's own examples are drawn earlier, at collection).
KNOWN: dict[str, list[dict]] = {}
DEMO_DATA_READY = []


def known_path_parameters(path):
    if not DEMO_DATA_READY:
        return []
    if path not in KNOWN:
        KNOWN[path] = list(_objects_named_by(path))
    return KNOWN[path]


def _objects_named_by(path):
    if path.startswith("/api/patrols/{id}/"):
        return ({"id": pk} for pk in PatrolPlan.objects.order_by("pk").values_list("pk", flat=True))
    if path.startswith("/api/reports/{uuid}/") and "{sha256}" not in path:
        uuids = IncidentReport.objects.order_by("observed_at", "pk").values_list("uuid", flat=True)
        return ({"uuid": str(uuid)} for uuid in uuids)
    if path.startswith("/api/liaison/contacts/{id}/"):
        return ({"id": pk} for pk in Contact.objects.order_by("pk").values_list("pk", flat=True))
    if path.startswith("/api/liaison/follow-ups/{id}/"):
        return ({"id": pk} for pk in FollowUp.objects.order_by("pk").values_list("pk", flat=True))
    if path.startswith("/api/itinerary-notifications/{id}/"):
        rows = ItineraryNotification.objects.order_by("pk").values_list("pk", flat=True)
        return ({"id": pk} for pk in rows)
    if path == "/api/summaries/{year}/{number}/r{revision}/{level}.{fmt}":
        return (
            {"year": a.revision.summary.year, "number": a.revision.summary.number,
             "revision": a.revision.number, "level": a.level, "fmt": a.format}
            for a in SummaryArtefact.objects.select_related("revision__summary").order_by("pk")
        )  # fmt: skip
    if path.startswith("/api/summaries/{year}/{number}/"):
        rows = DailySummary.objects.order_by("pk").values_list("year", "number")
        return ({"year": year, "number": number} for year, number in rows)
    return ()


@SCHEMA.hook
def flatmap_path_parameters(context, path_parameters):
    # Random ids would nearly always be 404: half the requests name a real demo object instead.
    known = known_path_parameters(context.operation.path)
    if not known:
        return st.just(path_parameters)
    return st.one_of(st.just(path_parameters), st.sampled_from(known))


@pytest.fixture(scope="module")
def demo_world(demo_module, django_db_blocker):
    """The demo data (tests/demo.py), and a real device token for each role, in a savepoint
    rolled back at the module's end (the demo modules after this one see no token of it).
    Yields role → device token."""
    with django_db_blocker.unblock(), transaction.atomic():
        KNOWN.clear()
        DEMO_DATA_READY.append(True)
        try:
            yield {
                # As the device login makes them: with the code of the roles that need one.
                role: DeviceToken.objects.create(
                    user=User.objects.get(username=role),
                    device_name=f"schemathesis {role}",
                    second_factor=True,
                )[1]
                for role in ROLES
            }
        finally:
            KNOWN.clear()
            DEMO_DATA_READY.clear()
            transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def _handler_keeps_the_connection():
    """As Django's test client does, for each of its requests: the handler would close the
    connection after each request, and with it the transaction the demo data lives in."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def call_and_validate(case, token, role):
    with transaction.atomic():  # each example starts from the demo data
        try:
            case.call_and_validate(headers={"Authorization": f"Token {token}"})
        except BaseException as exc:
            exc.add_note(f"sent as the demo's {role}")  # a test sends as several roles
            raise
        finally:
            transaction.set_rollback(True)


SETTINGS = {"deadline": None, "database": None, "suppress_health_check": list(HealthCheck)}


def roles_let_through(operation, candidates=ROLES):
    """The roles of `candidates` that the authorisation table does not refuse `operation` by
    role (for every relation), or the first candidate when it refuses them all."""
    return _roles_let_through(f"{operation.method.upper()} {operation.path}", tuple(candidates))


@functools.cache  # asked for every generated example: the table is read once per operation
def _roles_let_through(name, candidates):
    rules = [rule for rule in API if rule.operation == name]
    assert rules, f"{name} is not in the authorisation table"

    def refused(outcome):
        values = outcome.values() if isinstance(outcome, dict) else [outcome]
        return all(value == REFUSED for value in values)

    let_through = [role for role in candidates
                   if not all(refused(rule.outcomes[role]) for rule in rules)]  # fmt: skip
    return let_through or list(candidates[:1])


def test_the_roles_let_through_follow_the_authorisation_table():
    def operation(method, path):
        return SCHEMA[path][method]

    assert roles_let_through(operation("POST", "/api/reports/")) == ["monitor"]
    assert roles_let_through(operation("POST", "/api/liaison/contacts/")) == ["coordinator"]
    assert roles_let_through(operation("POST", "/api/auth/login/")) == ROLES
    listing = operation("GET", "/api/reports/")
    assert roles_let_through(listing, COVERAGE_ROLES)[0] == "duty_officer"
    assert roles_let_through(operation("GET", "/api/liaison/log/")) == ["coordinator"]


# One node per operation (the extra parametrize gives each its own id: without it, every
# operation's test has the same id, and pytest-xdist, which runs tests by id, loses some).
@pytest.mark.parametrize("roles", [ROLES], ids=["roles let through"])
@SCHEMA.parametrize()
@settings(max_examples=FUZZ_EXAMPLES, **SETTINGS)
def test_every_operation_answers_as_documented(case, roles, demo_world):
    for role in roles_let_through(case.operation, roles):
        call_and_validate(case, demo_world[role], role)


@pytest.mark.parametrize("roles", [COVERAGE_ROLES], ids=["a role let through"])
@COVERAGE.parametrize()
@settings(**SETTINGS)
def test_boundary_values_are_answered_as_documented(case, roles, demo_world):
    role = roles_let_through(case.operation, roles)[0]
    call_and_validate(case, demo_world[role], role)


@pytest.mark.parametrize("role", ROLES)
def test_linked_operations_answer_as_documented(role, demo_world):
    token = demo_world[role]
    linked = []  # the steps that took a value from an earlier answer, through a link

    class Scenario(SCHEMA.as_state_machine()):
        def setup(self):
            self.savepoint = transaction.atomic()  # each scenario starts from the demo data
            self.savepoint.__enter__()

        def teardown(self):
            transaction.set_rollback(True)
            self.savepoint.__exit__(None, None, None)

        def get_call_kwargs(self, case):
            return {"headers": {"Authorization": f"Token {token}"}}

        def step(self, input):
            if input.transition is not None and input.applied_parameters:
                linked.append(input.transition.id)
            return super().step(input)

    Scenario.run(
        settings=settings(
            max_examples=SCENARIOS, stateful_step_count=STEPS, derandomize=True, **SETTINGS
        )
    )
    assert linked, "no scenario followed a link"

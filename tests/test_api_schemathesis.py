import json

import pytest
import schemathesis
import time_machine
from django.core.wsgi import get_wsgi_application
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import override_settings
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings

from conftest import restore_role_groups
from core.models import DeviceToken, User
from reports.tests.test_demo_data import NOW, run_demo_data

pytestmark = pytest.mark.django_db

ROLES = ["monitor", "coordinator", "duty_officer"]


@pytest.fixture(scope="module")
def demo_world(django_db_setup, django_db_blocker, tmp_path_factory):
    with (
        django_db_blocker.unblock(),
        time_machine.travel(NOW, tick=False),
        override_settings(VAR_DIR=tmp_path_factory.mktemp("var")),
    ):
        # As Django's test client does: the handler would close the connection after each
        # request, and with it the transaction the module's data lives in.
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            restore_role_groups()
            run_demo_data()
            tokens = {
                role: DeviceToken.objects.create(user=User.objects.get(username=role), device_name="st")[1]
                for role in ROLES
            }
            yield tokens
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)


def openapi():
    return json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str))


CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance", "response_headers_conformance"]
OTHER = ["positive_data_acceptance", "negative_data_rejection", "use_after_free", "ensure_resource_availability", "missing_required_header", "ignored_auth", "object_level_authorization", "unsupported_method", "allow_header_conformance"]
CONFIG = schemathesis.Config.from_dict(
    {"seed": 11, "generation": {"deterministic": True, "database": "none", "max-examples": 5},
     "checks": {**{c: {"enabled": True} for c in CHECKS}, **{c: {"enabled": False} for c in OTHER}}}
)
SCHEMA = schemathesis.openapi.from_dict(openapi(), config=CONFIG)
SCHEMA.app = get_wsgi_application()


@pytest.mark.parametrize("role", ROLES)
@SCHEMA.parametrize()
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
def test_api(case, role, demo_world):
    with transaction.atomic():
        case.call_and_validate(headers={"Authorization": f"Token {demo_world[role]}"})
        transaction.set_rollback(True)

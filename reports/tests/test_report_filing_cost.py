"""What filing one report costs the database: the statements a tablet's POST makes."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from core.tests.test_device_tokens import login, with_token
from reports.models import IncidentReport
from reports.tests.test_report_filing_api import report_body

# The token with its user, roles and permissions (1), the province (0: held in memory; 1 when
# the point lies just outside the generalised border, as Kornidzor does), the nearest
# settlement and the forward base's code (0, in memory), the reference's number (1: the
# base's sequence bumped, in the insert's transaction), the insert and its audit entry (one
# statement on PostgreSQL, two on SQLite; an entry is sealed later by the sealer), the
# savepoint of the test's transaction (2; BEGIN and COMMIT outside one).
# No UUID lookup, no constraint or foreign-key checks, no attachments query: the database's
# constraints are the guard.
MOST_STATEMENTS = 7


@pytest.mark.django_db
def test_a_new_report_filed_with_a_device_token_costs_a_bounded_number_of_statements(users):
    client = with_token(login(APIClient(), "t-monitor").json()["token"])
    # The first spatial query of a process reads the spatial reference system (SpatiaLite).
    client.post(reverse("api-incident-reports"), report_body(), format="json")
    for changes in ({}, {"status": "submitted", "severity": 4}):
        body = report_body(**changes)
        with CaptureQueriesContext(connection) as queries:
            response = client.post(reverse("api-incident-reports"), body, format="json")
        assert response.status_code == 201, response.json()
        statements = [q["sql"] for q in queries.captured_queries]
        assert len(statements) <= MOST_STATEMENTS, "\n".join(statements)
        assert response.json()["attachments"] == [] and response.json()["editable"] == (
            body.get("status") != "submitted"
        )
    assert IncidentReport.objects.count() == 3


@pytest.mark.django_db
def test_a_resend_of_the_same_report_still_returns_the_stored_one_with_a_token(users):
    client = with_token(login(APIClient(), "t-monitor").json()["token"])
    body = report_body()
    first = client.post(reverse("api-incident-reports"), body, format="json")
    again = client.post(reverse("api-incident-reports"), body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert IncidentReport.objects.filter(uuid=body["uuid"]).count() == 1

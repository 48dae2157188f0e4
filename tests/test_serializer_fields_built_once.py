"""FieldsBuiltOnce: fields built and bound once per class, each instance with its own."""

import pytest
from rest_framework.test import APIRequestFactory

from reports.apis.incidents import IncidentReportOutput, ReportInput
from reports.models import IncidentReport


@pytest.mark.django_db
def test_each_instance_reads_its_own_context_even_when_interleaved(users):
    from reports.tests.test_report_filing_api import as_user, report_body

    body = report_body()
    as_user(users["monitor"]).post("/api/reports/", body, format="json")
    report = IncidentReport.objects.get(uuid=body["uuid"])
    factory = APIRequestFactory()
    as_author, as_officer = factory.get("/"), factory.get("/")
    as_author.user, as_officer.user = users["monitor"], users["duty_officer"]
    first = IncidentReportOutput(report, context={"request": as_author})
    first_fields = first.fields  # built, then a second instance of the class is made
    second = IncidentReportOutput(report, context={"request": as_officer})
    assert second.data["editable"] is False
    assert first.data["editable"] is True
    assert all(field.parent is first for field in first_fields.values())
    assert all(f.parent is second for f in second.fields.values())
    assert not set(map(id, first_fields.values())) & set(map(id, second.fields.values()))
    # Labels and sources are what DRF's own binding gives.
    assert first.fields["sector"].source_attrs == ["sector", "name"]
    assert first.fields["location_phrase"].label == "Location phrase"


def test_validation_errors_stay_with_their_instance():
    bad = ReportInput(data={"severity": 9})
    good_shape = ReportInput(data={"severity": 2})
    assert not bad.is_valid() and not good_shape.is_valid()
    assert "severity" in bad.errors and "severity" not in good_shape.errors

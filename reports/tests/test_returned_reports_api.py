"""What the tablet reads back after review: its own returned or rejected reports, with the
duty officer's questions or reason, and never anybody else's."""

import pytest
from django.urls import reverse

from core.tests.factories import UserFactory
from reports.models import IncidentReport
from reports.services import review
from reports.tests.test_report_filing_api import as_user, report_body

S = IncidentReport.Status


def filed_by(user, **changes):
    body = report_body(status="submitted", **changes)
    response = as_user(user).post(reverse("api-incident-reports"), body, format="json")
    assert response.status_code == 201, response.json()
    return IncidentReport.objects.get(uuid=body["uuid"])


@pytest.mark.django_db
def test_the_report_output_carries_the_questions_the_reason_and_the_verification(users):
    monitor, officer = users["monitor"], users["duty_officer"]
    questions = "Which direction did the fire come from?"
    returned = review.report_return(report=filed_by(monitor), by=officer, questions=questions)
    reason = "Duplicate of the Goris team's report."
    rejected = review.report_reject(report=filed_by(monitor), by=officer, reason=reason)
    client = as_user(monitor)

    one = client.get(reverse("api-incident-report", args=[returned.uuid])).json()
    assert one["status"] == "returned"
    assert one["review_questions"] == "Which direction did the fire come from?"
    assert one["rejection_reason"] == ""
    assert one["verification"] == "unverified"
    assert one["reviewed_at"] is not None
    other = client.get(reverse("api-incident-report", args=[rejected.uuid])).json()
    assert other["rejection_reason"] == "Duplicate of the Goris team's report."


@pytest.mark.django_db
def test_the_review_fields_cannot_be_written_by_the_reporter(users):
    monitor = users["monitor"]
    report = review.report_return(report=filed_by(monitor), by=users["duty_officer"],
                                  questions="How many bursts?")  # fmt: skip
    response = as_user(monitor).patch(
        reverse("api-incident-report", args=[report.uuid]),
        {"description": "Twelve bursts, from the east.", "review_questions": "",
         "verification": "verified", "reason": "Counted again"},
        format="json", HTTP_IF_MATCH=f'"{report.version}"',
    )  # fmt: skip
    assert response.status_code == 200, response.json()
    report.refresh_from_db()
    assert report.description == "Twelve bursts, from the east."
    assert (report.review_questions, report.verification) == ("How many bursts?", "unverified")


@pytest.mark.django_db
def test_mine_lists_only_the_callers_own_reports(users, django_assert_max_num_queries):
    monitor, officer = users["monitor"], users["duty_officer"]
    # A colleague of the same forward base: the plain list shows their submitted reports.
    colleague = UserFactory(username="t-colleague", roles=["monitor"])
    assert colleague.forward_base_id == monitor.forward_base_id
    mine = [filed_by(monitor) for _ in range(3)]
    theirs = [filed_by(colleague) for _ in range(2)]
    for report in (mine[0], mine[1], theirs[0]):
        review.report_return(report=report, by=officer, questions="Where exactly?")
    review.report_reject(report=theirs[1], by=officer, reason="Not an incident.")
    client = as_user(monitor)

    everything = client.get(reverse("api-incident-reports")).json()["results"]
    assert {r["author"] for r in everything} == {monitor.username, colleague.username}

    with django_assert_max_num_queries(8):
        response = client.get(reverse("api-incident-reports"), {"mine": "true"})
    assert {r["uuid"] for r in response.json()["results"]} == {str(r.uuid) for r in mine}
    returned = client.get(reverse("api-incident-reports"),
                          {"mine": "true", "status": "returned"}).json()["results"]  # fmt: skip
    assert sorted(r["uuid"] for r in returned) == sorted(str(r.uuid) for r in mine[:2])
    assert {r["review_questions"] for r in returned} == {"Where exactly?"}
    rejected = client.get(reverse("api-incident-reports"),
                          {"mine": "true", "status": "rejected"}).json()["results"]  # fmt: skip
    assert rejected == []


@pytest.mark.django_db
def test_a_returned_report_is_amended_and_resubmitted_keeping_its_history(users):
    monitor = users["monitor"]
    report = review.report_return(report=filed_by(monitor), by=users["duty_officer"],
                                  questions="How far away?")  # fmt: skip
    client = as_user(monitor)
    url = reverse("api-incident-report", args=[report.uuid])
    amended = client.patch(url, {"estimated_distance_m": 800, "reason": "About 800 m."},
                           format="json", HTTP_IF_MATCH=f'"{report.version}"')  # fmt: skip
    assert amended.status_code == 200
    # The same PATCH again (its answer was lost): the version moved on, nothing changes.
    again = client.patch(url, {"estimated_distance_m": 800, "reason": "About 800 m."},
                         format="json", HTTP_IF_MATCH=f'"{report.version}"')  # fmt: skip
    assert again.status_code == 412
    submitted = client.post(reverse("api-incident-report-submit", args=[report.uuid]))
    assert submitted.json()["status"] == "submitted"
    report.refresh_from_db()
    assert (report.status, report.estimated_distance_m) == (S.SUBMITTED, 800)
    revision = report.revisions.get()
    assert (revision.reason, revision.content["estimated_distance_m"]) == ("About 800 m.", 1200)

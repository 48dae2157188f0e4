"""The duty officers' pages: review queue, incident list, map page, and an incident's detail
with its history and the review, verification and event-link forms."""

import logging

import pytest
from django.test import Client
from django.urls import reverse

from core.audit.context import acting_as
from core.audit.models import AuditEntry
from reports.models import IncidentReport
from reports.services import filing, review
from reports.tests.test_incident_map import GORIS, JERMUK, KORNIDZOR, file_near

S = IncidentReport.Status


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def officer(users):
    return logged_in(users["duty_officer"])


@pytest.mark.django_db
def test_the_queue_puts_flash_reports_first_then_the_longest_waiting(users, officer):
    monitor = users["monitor"]
    older, newer = file_near(monitor, KORNIDZOR, 1)[0], file_near(monitor, JERMUK, 1)[0]
    serious = file_near(monitor, GORIS, 1, severity=5)[0]
    file_near(monitor, GORIS, 1, status="draft")
    done = file_near(monitor, GORIS, 1)[0]
    review.report_mark_reviewed(report=done, by=users["duty_officer"])
    asked = review.report_return(report=file_near(monitor, GORIS, 1)[0],
                                 by=users["duty_officer"], questions="Which village?")  # fmt: skip
    page = officer.get(reverse("incident-queue"))
    html = page.content.decode()
    order = [str(r.uuid) for r in (serious, older, newer)]
    positions = [html.index(f'data-testid="queue-row" data-uuid="{u}"') for u in order]
    assert positions == sorted(positions)
    assert page.context["waiting"] == [serious, older, newer]
    assert page.context["returned"] == [asked]
    assert "Which village?" in html


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["coordinator", "headquarters", "monitor", "liaison_officer"])
def test_only_duty_officers_open_the_queue_and_a_refusal_is_logged(users, role, caplog):
    with caplog.at_level(logging.WARNING, logger="missionapp.security"):
        response = logged_in(users[role]).get(reverse("incident-queue"))
    assert response.status_code == 403
    assert "duty officers" in response.content.decode()
    assert any("refused GET /incidents/queue/" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_the_list_filters_and_keeps_a_bad_date_beside_its_field(users, officer):
    monitor = users["monitor"]
    file_near(monitor, KORNIDZOR, 2, severity=4)
    file_near(monitor, JERMUK, 3, severity=1)
    listed = officer.get(reverse("incident-list"), {"sector": "Syunik", "severity_min": 3})
    assert listed.context["page_obj"].paginator.count == 2
    bad = officer.get(reverse("incident-list"), {"date_from": "yesterday", "severity_min": 3})
    html = bad.content.decode()
    assert 'data-field="date_from"' in html and "Enter a valid date." in html
    assert 'value="3"' in html  # what was typed is still there
    backwards = officer.get(reverse("incident-list"),
                            {"date_from": "2026-11-20", "date_to": "2026-11-19"})  # fmt: skip
    assert "The last day comes before the first." in backwards.content.decode()


@pytest.mark.django_db
def test_the_list_page_costs_the_same_queries_for_5_or_60_incidents(
    users, officer, django_assert_max_num_queries
):
    file_near(users["monitor"], KORNIDZOR, 5)
    with django_assert_max_num_queries(12) as few:
        officer.get(reverse("incident-list"))
    file_near(users["monitor"], JERMUK, 55)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = officer.get(reverse("incident-list"))
    assert len(page.context["page_obj"].object_list) == 50


@pytest.mark.django_db
def test_the_map_page_carries_the_filters_to_the_clustering_api(users):
    page = logged_in(users["headquarters"]).get(reverse("incident-map"), {"severity_min": 4})
    html = page.content.decode()
    assert page.status_code == 200
    assert f'data-api="{reverse("api-incident-map")}"' in html
    assert 'data-query="severity_min=4"' in html
    category = html[html.index('name="category"') :]
    assert category[: category.index("</select>")].count(">Any</option>") == 1
    assert logged_in(users["liaison_officer"]).get(reverse("incident-map")).status_code == 403


@pytest.mark.django_db
def test_the_detail_shows_the_history_of_an_amended_returned_and_verified_report(users, officer):
    monitor, duty = users["monitor"], users["duty_officer"]
    on_tablet = acting_as(actor=monitor, client=AuditEntry.Client.TOKEN)
    at_desk = acting_as(actor=duty, client=AuditEntry.Client.SESSION)
    with on_tablet:
        report = file_near(monitor, KORNIDZOR, 1)[0]
    with at_desk:
        review.report_return(report=report, by=duty, questions="How many explosions?")
    report.refresh_from_db()
    with acting_as(actor=monitor, client=AuditEntry.Client.TOKEN):
        filing.incident_report_edit(report=report, by=monitor, expected_version=report.version,
                                      fields={"explosions": 7, "severity": 3},
                                      reason="Counted with my colleague")  # fmt: skip
        filing.incident_report_submit(report=report, by=monitor)
    with acting_as(actor=duty, client=AuditEntry.Client.SESSION):
        review.report_mark_reviewed(report=report, by=duty)
        review.report_verify(report=report, by=duty, level="corroborated",
                             note="Heard by the Goris team too")  # fmt: skip
    page = officer.get(reverse("incident-detail", args=[report.uuid]))
    titles = [item["title"] for item in page.context["history"]]
    assert titles == [
        "Filed and submitted",
        "Returned to the reporter for information",
        "Amended",
        "Resubmitted after questions",
        "Marked reviewed",
        "Verification: Corroborated",
    ]
    amended = page.context["history"][2]
    assert ("Reason given", "Counted with my colleague") in amended["notes"]
    assert ("Severity", "2 – Limited", "3 – Significant") in amended["fields"]
    assert ("Explosions", "—", "7") in amended["fields"]
    assert page.context["history"][1]["notes"] == [("Questions", "How many explosions?")]
    assert page.context["history"][5]["notes"] == [("Verification note",
                                                    "Heard by the Goris team too")]  # fmt: skip
    actors = [item["actor"] for item in page.context["history"]]
    assert actors == [monitor, duty, monitor, monitor, duty, duty]
    html = page.content.decode()
    assert "How many explosions?" in html and "Counted with my colleague" in html


@pytest.mark.django_db
def test_a_duty_officer_returns_rejects_and_verifies_from_the_page(users, officer):
    report = file_near(users["monitor"], KORNIDZOR, 1)[0]
    url = reverse("incident-review", args=[report.uuid])
    empty = officer.post(url, {"decision": "returned", "questions": "  "})
    assert empty.status_code == 400 and 'data-field="questions"' in empty.content.decode()
    assert "This field is required." in empty.content.decode()
    asked = officer.post(url, {"decision": "returned", "questions": "Which direction?"})
    assert asked.status_code == 302
    report.refresh_from_db()
    assert (report.status, report.review_questions) == (S.RETURNED, "Which direction?")
    again = officer.post(url, {"decision": "rejected", "reason": "Duplicate"}, follow=True)
    assert "Only a submitted report can be rejected" in again.content.decode()

    other = file_near(users["monitor"], JERMUK, 1)[0]
    verify = reverse("incident-verify", args=[other.uuid])
    no_note = officer.post(verify, {"level": "verified", "note": ""})
    html = no_note.content.decode()
    assert no_note.status_code == 400 and "Say what corroborates the report." in html
    assert 'value="verified" selected' in html  # the chosen level is kept
    assert officer.post(verify, {"level": "verified", "note": "Imagery"}).status_code == 302
    other.refresh_from_db()
    assert other.verification == "verified"


@pytest.mark.django_db
def test_a_form_sent_from_a_stale_page_says_why_nothing_was_recorded(users, officer):
    report = file_near(users["monitor"], KORNIDZOR, 1)[0]
    officer.post(reverse("incident-review", args=[report.uuid]),
                 {"decision": "rejected", "reason": "Duplicate"})  # fmt: skip
    # A second tab, still showing the forms, sends an empty return and a verification.
    empty = officer.post(reverse("incident-review", args=[report.uuid]),
                         {"decision": "returned", "questions": ""}, follow=True)  # fmt: skip
    assert "Nothing recorded: the report is now rejected." in empty.content.decode()
    no_note = officer.post(reverse("incident-verify", args=[report.uuid]),
                           {"level": "verified", "note": ""}, follow=True)  # fmt: skip
    assert "Nothing recorded: the report is now rejected." in no_note.content.decode()
    noted = officer.post(reverse("incident-verify", args=[report.uuid]),
                         {"level": "verified", "note": "Imagery"}, follow=True)  # fmt: skip
    assert "Only a submitted or reviewed report is verified." in noted.content.decode()
    report.refresh_from_db()
    assert (report.status, report.verification) == (S.REJECTED, "unverified")


@pytest.mark.django_db
def test_two_reports_are_linked_as_one_event_by_their_short_references(users, officer):
    one, two = file_near(users["monitor"], KORNIDZOR, 2)
    url = reverse("incident-link", args=[one.uuid])
    unknown = officer.post(url, {"others": "deadbeef"})
    assert unknown.status_code == 400 and "No single submitted report matches: deadbeef" in (
        unknown.content.decode())  # fmt: skip
    assert officer.post(url, {"others": str(two.uuid)[:8]}).status_code == 302
    one.refresh_from_db(), two.refresh_from_db()
    assert one.event_id and one.event_id == two.event_id
    page = officer.get(reverse("incident-detail", args=[one.uuid]))
    assert page.context["event_reports"] == [two]


@pytest.mark.django_db
def test_who_may_open_a_report_and_who_may_act_on_it(users):
    report = file_near(users["monitor"], KORNIDZOR, 1)[0]
    draft = file_near(users["monitor"], KORNIDZOR, 1, status="draft")[0]
    detail = reverse("incident-detail", args=[report.uuid])
    for role in ("coordinator", "headquarters", "administrator"):
        page = logged_in(users[role]).get(detail)
        assert page.status_code == 200 and "review-actions" not in page.content.decode()
        refused = logged_in(users[role]).post(
            reverse("incident-review", args=[report.uuid]), {"decision": "reviewed"}
        )
        assert refused.status_code == 403
    assert logged_in(users["liaison_officer"]).get(detail).status_code == 403
    assert 'data-testid="review-actions"' in logged_in(users["duty_officer"]).get(
        detail).content.decode()  # fmt: skip
    # Nobody but its author sees a draft, not even that it exists.
    assert logged_in(users["duty_officer"]).get(
        reverse("incident-detail", args=[draft.uuid])).status_code == 404  # fmt: skip
    report.refresh_from_db()
    assert report.status == S.SUBMITTED

"""Review, verification, linking one event, and the flash alert (once, via the worker)."""

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import wait_for, worker_mail
from reports.models import IncidentReport
from reports.services import events, review
from reports.tests.test_report_filing_api import as_user, report_body

S = IncidentReport.Status


def filed(users, **changes):
    body = report_body(status="submitted", **changes)
    as_user(users["monitor"]).post(reverse("api-incident-reports"), body, format="json")
    return IncidentReport.objects.get(uuid=body["uuid"])


@pytest.mark.django_db
def test_a_duty_officer_reviews_returns_or_rejects_a_submitted_report(users):
    officer = users["duty_officer"]
    one, two, three = filed(users), filed(users), filed(users)
    assert review.report_mark_reviewed(report=one, by=officer).status == S.REVIEWED
    with pytest.raises(ValidationError, match="Ask the reporter"):
        review.report_return(report=two, by=officer, questions="")
    returned = review.report_return(report=two, by=officer, questions="Which direction?")
    assert (returned.status, returned.review_questions) == (S.RETURNED, "Which direction?")
    rejected = review.report_reject(report=three, by=officer, reason="Duplicate of another")
    assert rejected.status == S.REJECTED
    with pytest.raises(ValidationError, match="Only a submitted report"):
        review.report_mark_reviewed(report=rejected, by=officer)


@pytest.mark.django_db
def test_the_page_and_the_api_decide_by_the_same_names_through_one_service(client, users):
    from reports.views.incidents import DECISION_FORMS

    officer = users["duty_officer"]
    assert set(DECISION_FORMS) == set(review.DECISIONS)
    assert list(review.DECISIONS) == ["reviewed", "returned", "rejected"]
    one, two = filed(users), filed(users)
    # A decision takes its own field only: the rejection's unused questions change nothing.
    rejected = review.report_decide(report=one, by=officer, decision="rejected",
                                    reason="Duplicate", questions="ignored")  # fmt: skip
    assert (rejected.status, rejected.rejection_reason, rejected.review_questions) == (
        S.REJECTED, "Duplicate", "")  # fmt: skip
    with pytest.raises(ValidationError, match="Choose a decision: reviewed, returned or rejected."):
        review.report_decide(report=two, by=officer, decision="approved")
    response = as_user(officer).post(
        reverse("api-incident-report-review", args=[two.uuid]), {"decision": "approved"},
        format="json")  # fmt: skip
    assert response.status_code == 400 and "decision" in response.json()["errors"]
    client.force_login(officer)
    page = client.post(reverse("incident-review", args=[two.uuid]), {"decision": "approved"},
                       follow=True)  # fmt: skip
    assert "Choose a decision: reviewed, returned or rejected." in page.content.decode()
    page = client.post(reverse("incident-review", args=[two.uuid]),
                       {"decision": "returned", "questions": "Which direction?"})  # fmt: skip
    assert page.status_code == 302
    two.refresh_from_db()
    assert (two.status, two.review_questions) == (S.RETURNED, "Which direction?")


@pytest.mark.django_db
def test_only_duty_officers_review_and_verify(users):
    report = filed(users)
    for role in ("monitor", "coordinator", "headquarters"):
        with pytest.raises(PermissionDenied, match="Only a duty officer"):
            review.report_mark_reviewed(report=report, by=users[role])
        with pytest.raises(PermissionDenied, match="Only a duty officer"):
            review.report_verify(report=report, by=users[role], level="verified", note="x")


@pytest.mark.django_db
def test_verification_is_separate_from_review_and_needs_a_note(users):
    officer, report = users["duty_officer"], filed(users)
    with pytest.raises(ValidationError, match="corroborates"):
        review.report_verify(report=report, by=officer, level="corroborated", note="")
    report = review.report_verify(report=report, by=officer, level="corroborated",
                                  note="A second team heard the same bursts.")  # fmt: skip
    assert (report.status, report.verification) == (S.SUBMITTED, "corroborated")


@pytest.mark.django_db
def test_two_reports_of_one_event_are_linked_once(users):
    officer = users["duty_officer"]
    a, b, c = filed(users), filed(users), filed(users)
    event = events.reports_link_as_one_event(reports=[a, b], by=officer, note="Same shelling")
    again = events.reports_link_as_one_event(reports=[b, c], by=officer)
    assert event == again
    assert set(event.reports.values_list("pk", flat=True)) == {a.pk, b.pk, c.pk}
    with pytest.raises(ValidationError, match="at least two"):
        events.reports_link_as_one_event(reports=[a], by=officer)


@pytest.mark.postgresql
@pytest.mark.django_db
def test_the_flash_alert_locks_the_report_row_only(users, django_capture_on_commit_callbacks):
    # Not the author's user row nor the sector's province row, which it reads with the report.
    report = filed(users, severity=4)
    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert review.report_flash_alert_send(report_id=report.pk)
    reads = [
        q["sql"] for q in queries.captured_queries if 'FROM "reports_incidentreport"' in q["sql"]
    ]
    assert len(reads) == 1, reads  # the claim's read under the lock, which the trail reuses
    locks = [
        q["sql"]
        for q in queries.captured_queries
        if "FOR UPDATE" in q["sql"] and 'FROM "reports_incidentreport"' in q["sql"]
    ]  # (the audit trail's own lock, being designed away, is not this test's business)
    assert len(locks) == 1
    # A row another write holds is skipped (it stays due for the next drain), not waited for.
    assert locks[0].endswith('FOR UPDATE OF "reports_incidentreport" SKIP LOCKED'), locks[0]


@pytest.mark.django_db
def test_a_flash_alert_the_mail_server_refused_is_sent_by_the_retry(users, settings):
    report = filed(users, severity=4)
    # A real refusal: nothing listens on port 1 of this machine.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 5
    with pytest.raises(OSError):
        review.report_flash_alert_send(report_id=report.pk)
    report.refresh_from_db()
    assert report.flash_alerted_at is None  # still to send
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert review.report_flash_alert_send(report_id=report.pk)  # the retry
    assert not review.report_flash_alert_send(report_id=report.pk)  # and never twice
    assert len(mail.outbox) == 1 and mail.outbox[0].subject.startswith("FLASH:")
    report.refresh_from_db()
    assert report.flash_alerted_at is not None
    # The refusal came before any claim (the connection is opened first): the trail has the
    # one claim of the retry, diffed against the row as read under its lock.
    from django.core.serializers.json import DjangoJSONEncoder

    from core.audit.models import AuditEntry

    claims = [
        e.changes["flash_alerted_at"]
        for e in AuditEntry.objects.filter(
            model="reports.incidentreport", object_pk=str(report.pk), action="update"
        ).order_by("id")
    ]
    assert claims == [[None, DjangoJSONEncoder().default(report.flash_alerted_at)]]
    from reports.tasks import report_flash_alert

    assert OSError in report_flash_alert.autoretry_for


@pytest.mark.django_db
def test_a_serious_report_alerts_duty_officers_and_hq_once(
    users, django_capture_on_commit_callbacks
):
    report = filed(users, severity=4)
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            review.report_flash_alert_send(report_id=report.pk)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject.startswith("FLASH: Small-arms fire in Kornidzor, Syunik")
    assert set(message.to) == {users["duty_officer"].email, users["headquarters"].email}
    assert f"/incidents/{report.uuid}/" in message.body  # the page to review it on


@pytest.mark.django_db
def test_a_report_with_casualties_qualifies_whatever_its_severity(users):
    assert review.qualifies_for_flash_alert(filed(users, civilians_injured=1, severity=1))
    assert not review.qualifies_for_flash_alert(filed(users, severity=3))
    draft = IncidentReport(status=S.DRAFT, severity=5)
    assert not review.qualifies_for_flash_alert(draft)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_flash_alert_goes_out_once_through_the_real_worker(celery_worker, users):
    report = filed(users, severity=5, description="Artillery shell impacts near the school")
    wait_for(lambda: IncidentReport.objects.get(pk=report.pk).flash_alerted_at,
             timeout=60, message="the worker to send the flash alert")  # fmt: skip
    # Submitting again (a resend) and re-running the task change nothing.
    as_user(users["monitor"]).post(reverse("api-incident-report-submit", args=[report.uuid]))
    from reports.tasks import report_flash_alert

    report_flash_alert.delay(report.pk)
    wait_for(lambda: [m for m in worker_mail(celery_worker) if "FLASH" in (m["Subject"] or "")],
             timeout=30, message="the flash alert in the worker's mail")  # fmt: skip
    import time

    time.sleep(3)  # give a wrongly repeated alert the time to appear
    alerts = [m for m in worker_mail(celery_worker) if "FLASH" in (m["Subject"] or "")
              and "Artillery" in m.get_payload()]  # fmt: skip
    assert len(alerts) == 1


@pytest.mark.django_db
def test_an_amendment_that_makes_a_report_serious_sends_the_flash_alert_once(
    users, django_capture_on_commit_callbacks
):
    report = filed(users, severity=2)
    client = as_user(users["monitor"])
    url = reverse("api-incident-report", args=[report.uuid])
    review._dispatch["until"] = 0.0  # no batching window left open by an earlier filing
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.patch(url, {"severity": 5, "civilians_killed": 2}, format="json",
                                HTTP_IF_MATCH='"1"')  # fmt: skip
    assert response.status_code == 200, response.content
    # The alert's drain, published after the commit: flash_alerts_dispatch sends the task by
    # name (enqueue_on_commit: at once after a real commit, one more callback inside the
    # test's transaction).
    assert [c.__qualname__ for c in callbacks] == [
        "flash_alerts_dispatch", "enqueue_on_commit.<locals>.send",
    ]  # fmt: skip
    review.report_flash_alert_send(report_id=report.pk)
    alerts = [m for m in mail.outbox if m.subject.startswith("FLASH")]
    assert len(alerts) == 1 and "severity 5" in alerts[0].subject
    # A later amendment of the alerted report does not alert again.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.patch(url, {"description": "Two civilians killed by shelling."},
                                format="json", HTTP_IF_MATCH='"2"')  # fmt: skip
    assert response.status_code == 200 and callbacks == []

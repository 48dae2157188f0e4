"""Flash alerts fall due with the write that makes a report serious and go out in batches:
each once, over one mail connection per batch, none lost when the mail server refuses."""

import socket
import threading

import pytest
from django.core import mail
from django.urls import reverse

from conftest import wait_for, worker_mail
from core.audit.models import AuditEntry
from reports.models import IncidentReport
from reports.selectors import incident_report_history
from reports.services import review
from reports.tests.test_report_filing_api import as_user, report_body
from reports.tests.test_report_review import filed


def _due():
    return IncidentReport.objects.filter(
        flash_alert_due_at__isnull=False, flash_alerted_at__isnull=True
    )


@pytest.mark.django_db
def test_a_serious_report_is_due_from_the_write_that_files_it(users):
    serious, minor = filed(users, severity=4), filed(users, severity=2)
    draft = IncidentReport.objects.get(
        uuid=as_user(users["monitor"])
        .post(reverse("api-incident-reports"), report_body(severity=5), format="json")
        .json()["uuid"]
    )
    assert serious.flash_alert_due_at is not None
    assert minor.flash_alert_due_at is None and draft.flash_alert_due_at is None
    # The filing's audit entry holds it: no second write was needed.
    entries = AuditEntry.objects.filter(model="reports.incidentreport", object_pk=str(serious.pk))
    assert [e.action for e in entries] == ["create"]
    assert entries[0].changes["flash_alert_due_at"][1] is not None


@pytest.mark.django_db
def test_every_due_alert_goes_out_once_in_one_batch(users):
    reports = [
        filed(users, severity=4),
        filed(users, civilians_injured=1),
        filed(users, severity=5),
    ]
    filed(users, severity=2)  # not serious: no alert
    assert review.flash_alerts_send_due() == 3
    assert review.flash_alerts_send_due() == 0  # idempotent: nothing is due any more
    assert sorted(m.subject for m in mail.outbox) == sorted(
        f"FLASH: Small-arms fire in Kornidzor, Syunik (severity {r.severity})" for r in reports
    )
    assert not _due().exists()
    for report in reports:
        report.refresh_from_db()
        assert report.flash_alerted_at is not None


@pytest.mark.django_db
def test_a_report_amended_below_the_threshold_before_its_alert_is_not_alerted(users):
    report = filed(users, severity=4)
    url = reverse("api-incident-report", args=[report.uuid])
    response = as_user(users["monitor"]).patch(
        url, {"severity": 2}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 200, response.content
    assert review.flash_alerts_send_due() == 0 and mail.outbox == []
    report.refresh_from_db()
    assert report.flash_alert_due_at is None and report.flash_alerted_at is None


@pytest.fixture
def smtp_that_drops_after_one(settings):
    """A real SMTP server on this machine that takes one message, then drops the connection
    (a mail server failing in the middle of a batch)."""
    server = socket.create_server(("127.0.0.1", 0))
    taken = []

    def serve():
        conn, _ = server.accept()
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"220 mission.test ESMTP\r\n")
            for line in lines:
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    conn.sendall(b"250 mission.test\r\n")
                elif verb == b"MAIL":
                    if taken:
                        return  # the second message: the connection drops
                    conn.sendall(b"250 OK\r\n")
                elif verb == b"RCPT":
                    conn.sendall(b"250 OK\r\n")
                elif verb == b"DATA":
                    conn.sendall(b"354 go on\r\n")
                    body = b"".join(iter(lambda: lines.readline(), b".\r\n"))
                    taken.append(body)
                    conn.sendall(b"250 queued\r\n")
                else:
                    conn.sendall(b"250 OK\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.getsockname()[1]
    settings.EMAIL_TIMEOUT, settings.EMAIL_USE_TLS = 5, False
    yield taken
    server.close()
    thread.join(timeout=5)


def _claims(report):
    return [
        e.changes["flash_alerted_at"]
        for e in AuditEntry.objects.filter(
            model="reports.incidentreport", object_pk=str(report.pk), action="update"
        ).order_by("id")
        if "flash_alerted_at" in e.changes
    ]


@pytest.mark.django_db
def test_an_unreachable_mail_server_leaves_the_alerts_due_without_a_write(users, settings):
    reports = [filed(users, severity=4) for _ in range(3)]
    entries = AuditEntry.objects.count()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 5
    for _ in range(3):  # an outage: every drain fails at once
        with pytest.raises(OSError):  # nothing listens on port 1: a real refusal
            review.flash_alerts_send_due()
    assert _due().count() == 3
    assert AuditEntry.objects.count() == entries  # nothing claimed, nothing given back
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert review.flash_alerts_send_due() == 3  # the next drain once it answers again
    assert len(mail.outbox) == 3 and not _due().exists()
    assert all(len(_claims(r)) == 1 for r in reports)


@pytest.mark.django_db
def test_a_mail_server_failing_mid_batch_gives_back_what_it_did_not_take(
    users, smtp_that_drops_after_one, settings
):
    reports = [filed(users, severity=4, description=f"Mid-batch {i}") for i in range(3)]
    with pytest.raises(OSError):  # smtplib's SMTPServerDisconnected
        review.flash_alerts_send_due()
    assert len(smtp_that_drops_after_one) == 1  # the first alert went out
    assert _due().count() == 2  # the other two were given back
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert review.flash_alerts_send_due() == 2
    assert _due().count() == 0
    sent_first = [r for r in reports if len(_claims(r)) == 1]
    retried = [r for r in reports if len(_claims(r)) == 3]  # claimed, given back, claimed
    assert len(sent_first) == 1 and len(retried) == 2
    # The history shows each alert sent once: not the claim that was given back.
    for report in reports:
        titles = [item["title"] for item in incident_report_history(report=report)]
        assert titles.count("Flash alert sent to duty officers and headquarters") == 1, titles


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_alerts_filed_together_go_out_in_one_task_over_one_connection(
    celery_worker, users, settings
):
    settings.FLASH_ALERT_BATCH_SECONDS = 3.0
    review._dispatch["until"] = 0.0  # no window left open by an earlier test's filing
    log_start = len(celery_worker.log_path.read_text())
    mail_files = set(celery_worker.mail_dir.glob("*.log"))
    reports = [filed(users, severity=4, description=f"Batch shelling {i}") for i in range(5)]
    wait_for(lambda: not _due().filter(pk__in=[r.pk for r in reports]).exists(),
             timeout=60, message="the worker to send the five alerts")  # fmt: skip
    wait_for(lambda: len([m for m in worker_mail(celery_worker)
                          if "Batch shelling" in m.get_payload()]) >= 5,
             timeout=30, message="the five alerts in the worker's mail")  # fmt: skip
    new_files = set(celery_worker.mail_dir.glob("*.log")) - mail_files
    with_batch = [p for p in new_files if "Batch shelling" in p.read_text()]
    assert len(with_batch) == 1  # one mail connection for the batch
    assert with_batch[0].read_text().count("Batch shelling") == 5  # each alert once

    def drains():  # the task's line is logged once it returned, after its mail was written
        log = celery_worker.log_path.read_text()[log_start:]
        return [line for line in log.splitlines()
                if "reports.tasks.flash_alerts_send" in line and "succeeded" in line]  # fmt: skip

    wait_for(drains, timeout=30, message="the drain's result in the worker's log")
    assert drains()[0].endswith(": 5"), drains()  # one task sent all five


@pytest.fixture
def broker_down():
    """The broker unreachable for this test (nothing listens on port 1: a real refusal)."""
    from missionapp.celery import app

    conf = app.conf
    names = ("broker_write_url", "broker_transport", "task_publish_retry")
    saved = [conf[name] for name in names], app._pool, app.amqp._producer_pool
    # Publishing connects to broker_write_url (the configured broker_url unless set apart),
    # with broker_transport if set (the embedded broker's, which would ignore the URL's scheme).
    conf.broker_write_url, conf.broker_transport = "redis://127.0.0.1:1/0", None
    conf.task_publish_retry = False
    app._pool = app.amqp._producer_pool = None  # connections are made afresh, to it
    assert app.connection_for_write().port == 1
    yield
    values, app._pool, app.amqp._producer_pool = saved
    for name, value in zip(names, values, strict=True):
        conf[name] = value


@pytest.mark.django_db(transaction=True)
def test_a_serious_report_filed_while_the_broker_is_down_is_stored_and_stays_due(
    users, broker_down, caplog
):
    body = report_body(status="submitted", severity=5)
    response = as_user(users["monitor"]).post(reverse("api-incident-reports"), body, format="json")
    assert response.status_code == 201, response.content  # not a 500 after storing it
    report = IncidentReport.objects.get(uuid=body["uuid"])
    assert report.flash_alert_due_at is not None and report.flash_alerted_at is None
    assert any("could not publish the drain" in r.getMessage() for r in caplog.records)
    assert review.flash_alerts_send_due() == 1  # beat's drain sends it once the broker is back

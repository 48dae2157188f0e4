from celery import shared_task
from django.db import OperationalError

from core.audit.context import acting_as
from core.audit.models import AuditEntry
from reports.services.review import flash_alerts_send_due, report_flash_alert_send
from reports.services.uploads import photo_uploads_purge_expired as purge_uploads
from reports.summaries import services as summaries


# Transient errors delay a flash alert, never lose it. A refused or unreachable mail server
# (OSError: smtplib's errors, connection refused or reset, timeouts) leaves every alert due
# (the claims not sent are given back) and the drain is not retried: the next one, a filing's
# or beat's every 30 s, tries again (one retry chain per published drain made ~230 retries in
# an 80 s outage). The database's transient refusals (OperationalError: a deadlock victim, a
# dropped connection) retry. Once sent, a later drain finds the alert claimed and sends nothing.
@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=5, max_retries=5)
def flash_alerts_send():
    """After filings made alerts due (batched, see services.review.flash_alerts_dispatch), and
    beat's backstop every 30 s: send every flash alert due."""
    with acting_as(client=AuditEntry.Client.TASK, client_ref="flash alerts"):
        return flash_alerts_send_due()


# One report's alert: what was queued before alerts were batched, and an operator's resend.
@shared_task(
    acks_late=True,
    autoretry_for=(OSError, OperationalError),
    retry_backoff=5,
    retry_backoff_max=120,
    max_retries=20,
)
def report_flash_alert(report_id: int):
    with acting_as(client=AuditEntry.Client.TASK, client_ref=f"flash {report_id}"):
        return report_flash_alert_send(report_id=report_id)


@shared_task(acks_late=True)
def summaries_catch_up():
    """Beat: build every daily summary due (missed ones oldest first) and revise recent ones."""
    with acting_as(client=AuditEntry.Client.TASK, client_ref="summaries catch-up"):
        return [revision.pk for revision in summaries.summaries_catch_up()]


@shared_task(bind=True, acks_late=True)
def summary_deliver(self, revision_id: int):
    """E-mail a new summary revision to the distribution list (each recipient once)."""
    with acting_as(client=AuditEntry.Client.TASK, client_ref=f"summary {revision_id}"):
        return summaries.summary_deliver(revision_id=revision_id, claim=self.request.id or "eager")


@shared_task
def summary_deliveries_resend_stale():
    """Beat backstop: deliver again the revisions with an e-mail whose sending was lost (a
    worker killed mid-send, a lost message). Idempotent: each e-mail is claimed."""
    revisions = summaries.summary_deliveries_stale()
    for revision_id in revisions:
        summary_deliver.delay(revision_id)
    return len(revisions)


@shared_task
def photo_uploads_purge_expired():
    """Beat, hourly: delete the photo uploads abandoned for PHOTO_UPLOAD_EXPIRY_HOURS and
    their parts. Idempotent: what is gone stays gone, a second run deletes nothing."""
    return purge_uploads()

from celery import shared_task

from core.audit.context import acting_as
from core.audit.models import AuditEntry
from reports.review import report_flash_alert_send


@shared_task(acks_late=True, autoretry_for=(ConnectionError, TimeoutError), retry_backoff=30)
def report_flash_alert(report_id: int):
    with acting_as(client=AuditEntry.Client.TASK, client_ref=f"flash {report_id}"):
        return report_flash_alert_send(report_id=report_id)

"""Patrol jobs. Thin: each takes ids, re-checks that the work is still needed (the services
claim it), and calls one service.

Tasks import the services they call; the services send them by name after commit
(core.queue.enqueue_on_commit), so no service imports this module.
"""

import smtplib
import socket
from datetime import timedelta

from celery import shared_task

from core.audit.context import acting_as
from core.audit.models import AuditEntry
from patrols.selectors import notifications_stale
from patrols.services import notifications

# Transient: the mail server is unreachable or refuses for now. Anything else is a bug and
# must not be retried blindly.
TRANSIENT = (smtplib.SMTPException, socket.error, TimeoutError, ConnectionError)


@shared_task(bind=True, max_retries=notifications.MAX_ATTEMPTS, acks_late=True)
def itinerary_notification_send(self, notification_id: int):
    with acting_as(client=AuditEntry.Client.TASK, client_ref=f"send {notification_id}"):
        try:
            return notifications.notification_send(
                notification_id=notification_id, claim=self.request.id or "eager"
            )
        except TRANSIENT as exc:
            countdown = notifications.retry_delay(self.request.retries)
            raise self.retry(exc=exc, countdown=countdown) from exc


@shared_task
def itinerary_notifications_escalate():
    with acting_as(client=AuditEntry.Client.TASK, client_ref="escalate"):
        return notifications.notifications_escalate()


@shared_task
def itinerary_notifications_resend_stale():
    """Beat backstop: send again the notifications whose sending was lost (a worker killed
    mid-send, a lost message). Idempotent: the send claims the row, so a second run or the
    redelivered original finds nothing to do."""
    lease = notifications.claim_lease()
    longest_wait = timedelta(seconds=notifications.retry_delay(notifications.MAX_ATTEMPTS))
    rows = list(notifications_stale(lease=lease, longest_wait=longest_wait + lease))
    for pk in rows:
        itinerary_notification_send.delay(pk)
    return len(rows)

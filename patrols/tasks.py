"""Patrol jobs. Thin: each takes ids, re-checks that the work is still needed (the services
claim it), and calls one service.

Tasks import the services they call; the services send them by name after commit
(core.queue.enqueue_on_commit), so no service imports this module.
"""

import smtplib
import socket

from celery import shared_task
from django.utils import timezone

from core.audit.context import acting_as
from core.audit.models import AuditEntry
from patrols.models import ItineraryNotification
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
            # 30 s, 1 min, 2 min, 4 min, ...
            raise self.retry(exc=exc, countdown=30 * 2**self.request.retries) from exc


@shared_task
def itinerary_notifications_escalate():
    with acting_as(client=AuditEntry.Client.TASK, client_ref="escalate"):
        return notifications.notifications_escalate()


@shared_task
def itinerary_notifications_resend_stale():
    """Re-enqueue notifications left queued (a lost message) or claimed by a dead worker."""
    stale = timezone.now() - notifications.STALE_CLAIM
    rows = ItineraryNotification.objects.filter(
        status__in=[ItineraryNotification.Status.QUEUED, ItineraryNotification.Status.SENDING],
        queued_at__lt=stale,
    ).values_list("pk", flat=True)
    for pk in rows:
        itinerary_notification_send.delay(pk)
    return len(rows)

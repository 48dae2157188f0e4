"""Handing out summary revisions: the e-mail to the distribution list, sent once per
recipient and revision, and every file downloaded recorded (who, when, which file, how)."""

import logging

from django.utils import timezone

from reports.models import SummaryArtefact, SummaryDelivery, SummaryDownload
from reports.summaries import documents

log = logging.getLogger(__name__)


def summary_deliver(*, revision_id: int) -> int:
    """E-mail a revision's PDF (at each recipient's level) to its queued recipients, once:
    each delivery is claimed (queued → sent) before its message goes, so a second task or a
    redelivered one finds nothing to do. A failed send is recorded on the row."""
    sent = 0
    deliveries = SummaryDelivery.objects.filter(revision_id=revision_id,
                                                status=SummaryDelivery.Status.QUEUED)  # fmt: skip
    for delivery in deliveries.select_related("recipient", "revision__summary"):
        claimed = SummaryDelivery.objects.filter(
            pk=delivery.pk, status=SummaryDelivery.Status.QUEUED
        ).update(status=SummaryDelivery.Status.SENT, sent_at=timezone.now(),
                 attempts=delivery.attempts + 1)  # fmt: skip
        if not claimed:
            continue
        pdf = delivery.revision.artefacts.get(level=delivery.level,
                                              format=SummaryArtefact.Format.PDF)  # fmt: skip
        message = documents.delivery_message(delivery, pdf)
        try:
            message.send(fail_silently=False)
        except Exception as exc:  # noqa: BLE001 - any mail failure is recorded, not lost
            log.warning("summary delivery %s failed: %s", delivery.pk, exc)
            SummaryDelivery.objects.filter(pk=delivery.pk).update(
                status=SummaryDelivery.Status.FAILED, last_error=str(exc)[:500]
            )
            continue
        sent += 1
    return sent


def summary_download_record(*, artefact: SummaryArtefact, user, via: str) -> SummaryDownload:
    """Record that `user` took this file through `via` ("page" or "api"), before it is handed
    out (documents.artefact_response)."""
    return SummaryDownload.objects.create(artefact=artefact, user=user, via=via)

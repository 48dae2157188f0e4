"""Handing out summary revisions: the e-mail to the distribution list, sent once per
recipient and revision, and every file downloaded recorded (who, when, which file, how)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from reports.models import SummaryArtefact, SummaryDelivery, SummaryDownload
from reports.summaries import documents

log = logging.getLogger(__name__)


def summary_deliver(*, revision_id: int, claim: str = "direct") -> int:
    """E-mail a revision's PDF (at each recipient's level) to its queued recipients: each
    delivery is claimed (queued → sending, by `claim`, the task's id), then sent, then marked
    sent. A worker killed in between leaves the claim: the redelivered task (same id) or,
    once the claim is older than the lease, the beat backstop sends it again, with the same
    Message-ID, so a recipient's mail program shows one message even in the rare case the
    first copy had gone out. A failed send is recorded on the row."""
    sent = 0
    for delivery in _claimable(revision_id, claim).select_related("recipient", "revision__summary"):
        if not _claim(delivery, claim):
            continue
        pdf = delivery.revision.artefacts.get(level=delivery.level,
                                              format=SummaryArtefact.Format.PDF)  # fmt: skip
        message = documents.delivery_message(delivery, pdf)
        try:
            message.send(fail_silently=False)
        except Exception as exc:  # noqa: BLE001 - any mail failure is recorded, not lost
            log.warning("summary delivery %s failed: %s", delivery.pk, exc)
            SummaryDelivery.objects.filter(pk=delivery.pk, claimed_by=claim).update(
                status=SummaryDelivery.Status.FAILED, last_error=str(exc)[:500]
            )
            continue
        SummaryDelivery.objects.filter(
            pk=delivery.pk, status=SummaryDelivery.Status.SENDING, claimed_by=claim
        ).update(status=SummaryDelivery.Status.SENT, sent_at=timezone.now())
        sent += 1
    return sent


def _claimable(revision_id, claim):
    Status = SummaryDelivery.Status
    stale = _claims_older_than()
    return SummaryDelivery.objects.filter(revision_id=revision_id).filter(
        Q(status=Status.QUEUED)
        | Q(status=Status.SENDING, claimed_by=claim)
        | Q(status=Status.SENDING, claimed_at__lt=stale)
    )


def _claims_older_than():
    """Claims made before this belonged to a worker that died (SEND_CLAIM_LEASE_SECONDS)."""
    return timezone.now() - timedelta(seconds=settings.SEND_CLAIM_LEASE_SECONDS)


def _claim(delivery, claim) -> bool:
    # One conditional UPDATE: of two workers (a redelivered task, the backstop's) only one
    # matches the row as it was read.
    taken = SummaryDelivery.objects.filter(
        pk=delivery.pk, status=delivery.status, claimed_by=delivery.claimed_by,
        attempts=delivery.attempts,
    ).update(status=SummaryDelivery.Status.SENDING, claimed_at=timezone.now(),
             claimed_by=claim, attempts=delivery.attempts + 1)  # fmt: skip
    return bool(taken)


def summary_deliveries_stale() -> list[int]:
    """The revisions with an e-mail whose sending was lost: claimed by a worker that died (the
    claim older than the lease), or queued since the revision was built more than a lease
    ago (the task's message was lost)."""
    Status = SummaryDelivery.Status
    stale = _claims_older_than()
    return list(
        SummaryDelivery.objects.filter(
            Q(status=Status.SENDING, claimed_at__lt=stale)
            | Q(status=Status.QUEUED, revision__built_at__lt=stale)
        )
        .values_list("revision_id", flat=True)
        .distinct()
        .order_by("revision_id")
    )


def summary_download_record(*, artefact: SummaryArtefact, user, via: str) -> SummaryDownload:
    """Record that `user` took this file through `via` ("page" or "api"), before it is handed
    out (documents.artefact_response)."""
    return SummaryDownload.objects.create(artefact=artefact, user=user, via=via)

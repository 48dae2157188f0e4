"""Itineraries approved and notified before this system knew of them (imported history, and
the demo's past weeks): recorded as they happened, without sending anything now."""

from datetime import datetime

from django.db import transaction

from core.models import User
from patrols.models import ItineraryNotification, ItineraryVersion, PatrolPlan
from patrols.services.approval import content_checksum, itinerary_content
from patrols.services.notifications import _recipients, notifications_queue, parties_for

AFTER_APPROVAL = {
    PatrolPlan.Status.APPROVED, PatrolPlan.Status.NOTIFIED, PatrolPlan.Status.UNDER_WAY,
    PatrolPlan.Status.COMPLETED, PatrolPlan.Status.ABORTED,
}  # fmt: skip


@transaction.atomic
def itinerary_history_record(
    *, plan: PatrolPlan, approved_by: User, approved_at: datetime,
    acknowledged_at: dict[str, datetime | None],
) -> ItineraryVersion | None:  # fmt: skip
    """Record version 1 of a plan that is past approval.

    A plan still "approved" gets its notifications queued and sent now, like any approval;
    a plan already notified or run gets them recorded as sent at approval time and
    acknowledged when `acknowledged_at[party code]` says. Idempotent: a plan with a version
    is left alone.
    """
    if plan.status not in AFTER_APPROVAL or plan.versions.exists():
        return None
    content = itinerary_content(plan, 1)
    version = ItineraryVersion.objects.create(
        plan=plan, number=1, content=content,
        content_sha256=content_checksum(content),
        approved_by=approved_by, approved_at=approved_at,
    )  # fmt: skip
    plan.version = 1
    plan.save(update_fields=["version"])
    if plan.status == PatrolPlan.Status.APPROVED:
        notifications_queue(version=version, purpose=ItineraryNotification.Purpose.ITINERARY)
        return version
    for party in parties_for(version=version, purpose=ItineraryNotification.Purpose.ITINERARY):
        acked = acknowledged_at.get(party.code)
        ItineraryNotification.objects.create(
            version=version, party=party, purpose=ItineraryNotification.Purpose.ITINERARY,
            recipients=_recipients(party, plan), attempts=1, sent_at=approved_at,
            status=ItineraryNotification.Status.ACKNOWLEDGED if acked
            else ItineraryNotification.Status.SENT,
            acknowledged_at=acked, ack_method="link" if acked else "",
        )  # fmt: skip
    return version

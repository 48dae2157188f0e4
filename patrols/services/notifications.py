"""Telling the parties: one notification per party per itinerary version, all or none.

Parity is kept by construction:
- the notifications of a version are created together, in the transaction that approves it
  (or cancels the plan), for every party concerned; if any party has nowhere to send to,
  the whole approval is refused and nothing is queued for anyone;
- every notification of a version carries the same frozen content (ItineraryVersion);
- a plan is "notified" (and may leave) only when every one of them has been sent;
- a party that was told of an earlier version is told of every amendment and of the
  cancellation, whatever the new route.
Sending is at-least-once with a claim: a worker killed mid-send leaves a claim that the
redelivered task (same task id: the embedded broker redelivers as soon as a worker starts) or,
once the claim is older than claim_lease() (90 s), any task takes over: the beat backstop
(patrols.tasks.itinerary_notifications_resend_stale, every 30 s) sends one for it. A send
holds its claim for at most the rendering and EMAIL_TIMEOUT, well under the lease; a takeover
while it still ran would send the same message again, with the same Message-ID.

The sending task (patrols.tasks.itinerary_notification_send) is enqueued by name after
commit; this module imports neither the tasks nor the plan services (they import it).
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from core.models import User
from core.queue import enqueue_on_commit
from liaison.models import Party
from liaison.selectors import email_channels_still_held, itinerary_recipient_channels
from liaison.services import contacts_mark_contacted
from patrols.documents.message import itinerary_message
from patrols.models import ItineraryNotification, ItineraryVersion, PatrolPlan
from patrols.selectors import can_record_notifications

log = logging.getLogger(__name__)
Status = ItineraryNotification.Status
MAX_ATTEMPTS = 6
ACK_SALT = "patrols.itinerary-ack"
SEND_TASK = "patrols.tasks.itinerary_notification_send"


def claim_lease() -> timedelta:
    return timedelta(seconds=settings.SEND_CLAIM_LEASE_SECONDS)


def retry_delay(retries: int) -> int:
    """Seconds before the next attempt after `retries` retries: 30 s, 1 min, 2 min, 4 min..."""
    return 30 * 2**retries


class NoRecipientLeft(Exception):
    """Every contact the notification was queued for is gone."""


class AckLinkError(Exception):
    """The acknowledgement link is forged, expired or already used."""


def parties_for(*, version: ItineraryVersion, purpose: str):
    """Who must be told: Armenia and Azerbaijan always, parties configured for the route's
    sectors, and every party told of an earlier version of this plan."""
    plan = version.plan
    told_before = Party.objects.filter(notifications__version__plan=plan)
    if purpose == ItineraryNotification.Purpose.CANCELLATION:
        return told_before.distinct().order_by("pk")
    return (
        Party.objects.filter(
            Q(active=True, always_notified=True)
            | Q(active=True, sectors__in=plan.sectors.all())
            | Q(pk__in=told_before.values("pk"))
        )
        .distinct()
        .order_by("pk")
    )


def _recipients(party, plan):
    """The party's liaison contacts for the route's sectors, with its fallback contact for
    a sector nobody covers: e-mail channel ids (the addresses stay encrypted until sent)."""
    channels = itinerary_recipient_channels(
        party=party, sector_ids=[s.pk for s in plan.sectors.all()]
    )
    if not channels:
        # Someone told before still gets the news where they got it last time.
        last = party.notifications.filter(version__plan=plan).order_by("-pk").first()
        channels = email_channels_still_held(list(last.recipients)) if last else []
    return channels


@transaction.atomic
def notifications_queue(*, version: ItineraryVersion, purpose: str):
    """Queue one notification per party concerned, or refuse for all of them."""
    parties = list(parties_for(version=version, purpose=purpose))
    plan = version.plan
    if purpose == ItineraryNotification.Purpose.ITINERARY and (
        sum(p.always_notified for p in parties) < 2
    ):
        # Both sides, always: without them configured nothing may be approved.
        raise ValidationError(
            {"parties": ["Armenia and Azerbaijan must both be configured as always notified."]}
        )
    rows, missing = [], []
    for party in parties:
        emails = _recipients(party, plan)
        if not emails:
            sectors = ", ".join(plan.sectors.values_list("name", flat=True)) or "no sector"
            missing.append(
                f"{party.name} has no notification recipient for {sectors} and no fallback "
                "contact (liaison contacts: receives itinerary notifications, with an e-mail)."
            )
        rows.append(ItineraryNotification(version=version, party=party, purpose=purpose,
                                          recipients=emails))  # fmt: skip
    if missing:
        raise ValidationError(
            {"recipients": missing + ["No party is notified until every party can be."]}
        )
    created = []
    for row in rows:
        row.full_clean()
        row.save()
        created.append(row)
    for row in created:
        enqueue_on_commit(SEND_TASK, row.pk)
    return created


def ack_token(notification: ItineraryNotification) -> str:
    return signing.dumps({"n": notification.pk}, salt=ACK_SALT, compress=True)


def ack_url(notification: ItineraryNotification) -> str:
    path = reverse("itinerary-ack", args=[ack_token(notification)])
    return settings.SITE_URL.rstrip("/") + path


def notification_from_ack_token(token: str) -> ItineraryNotification:
    try:
        data = signing.loads(
            token, salt=ACK_SALT, max_age=timedelta(days=settings.PATROL_ACK_LINK_DAYS)
        )
    except signing.SignatureExpired as exc:
        raise AckLinkError("This acknowledgement link has expired.") from exc
    except signing.BadSignature as exc:
        raise AckLinkError("This acknowledgement link is not valid.") from exc
    notification = (
        ItineraryNotification.objects.select_related("version__plan__forward_base", "party")
        .filter(pk=data.get("n"))
        .first()
    )
    if notification is None:
        raise AckLinkError("This acknowledgement link is not valid.")
    return notification


@transaction.atomic
def _claim(notification_id: int, claim: str):
    row = ItineraryNotification.objects.select_for_update().filter(pk=notification_id).first()
    if row is None:
        return None
    stale = row.claimed_at is not None and row.claimed_at < timezone.now() - claim_lease()
    claimable = row.status == Status.QUEUED or (
        row.status == Status.SENDING and (row.claimed_by == claim or stale)
    )
    if not claimable:
        return None
    row.status = Status.SENDING
    row.claimed_at = timezone.now()
    row.claimed_by = claim
    row.attempts += 1
    row.save(update_fields=["status", "claimed_at", "claimed_by", "attempts"])
    return row


@transaction.atomic
def _mark_sent(notification_id: int):
    row = ItineraryNotification.objects.select_for_update().get(pk=notification_id)
    if row.status != Status.SENDING:
        return row
    row.status = Status.SENT
    row.sent_at = timezone.now()
    row.last_error = ""
    row.save(update_fields=["status", "sent_at", "last_error"])
    contacts_mark_contacted(channel_ids=row.recipients, at=row.sent_at)
    _plan_notified_if_all_sent(row.version)
    return row


def _plan_notified_if_all_sent(version):
    # The plan row is locked before the siblings are read: two workers marking the two
    # parties' notifications sent at the same moment would otherwise each still see the
    # other's as "sending" and neither would move the plan (seen on PostgreSQL under load:
    # the plan stayed "approved" with both parties told). The second one now waits for the
    # first to commit, then reads its "sent". Lock order: notification row, then plan row
    # (approval takes the plan and only inserts notifications, so no cycle).
    plan = PatrolPlan.objects.select_for_update().get(pk=version.plan_id)
    siblings = ItineraryNotification.objects.filter(
        version=version, purpose=ItineraryNotification.Purpose.ITINERARY
    )
    if siblings.exclude(status__in=[Status.SENT, Status.ACKNOWLEDGED]).exists():
        return
    if plan.status == PatrolPlan.Status.APPROVED and plan.version == version.number:
        plan.move_to(PatrolPlan.Status.NOTIFIED)
        plan.save(update_fields=["status"])


@transaction.atomic
def _release(notification_id: int, error: str, *, final: bool):
    row = ItineraryNotification.objects.select_for_update().get(pk=notification_id)
    if row.status != Status.SENDING:
        return row
    row.status = Status.FAILED if final else Status.QUEUED
    row.last_error = error[:2000]
    row.claimed_by = ""
    row.save(update_fields=["status", "last_error", "claimed_by"])
    if final:
        approver = row.version.approved_by
        transaction.on_commit(
            lambda: send_mail(
                f"Itinerary notification to {row.party} FAILED",
                f"Sending {row} failed {row.attempts} times: {row.last_error}\n"
                "The patrol cannot leave until every party has the itinerary. "
                "Record delivery by another channel or retry from the coordinator's page.",
                settings.DEFAULT_FROM_EMAIL,
                [approver.email],
                fail_silently=True,
            )
        )
    return row


def notification_send(*, notification_id: int, claim: str) -> str:
    """Send one notification if nobody else is sending it. Returns what happened.

    Raises the sending error (after releasing the claim) so the task can retry with backoff.
    """
    row = _claim(notification_id, claim)
    if row is None:
        return "nothing to do"
    try:
        message = itinerary_message(row, ack_url=ack_url(row))
        if not message.to:
            # Its contacts were anonymised or erased since it was queued.
            raise NoRecipientLeft(f"{row.party} has no recipient address left.")
        message.send(fail_silently=False)
    except Exception as exc:
        final = row.attempts >= MAX_ATTEMPTS
        _release(row.pk, f"{type(exc).__name__}: {exc}", final=final)
        if final:
            return "failed"
        raise
    _mark_sent(row.pk)
    return "sent"


@transaction.atomic
def notification_retry(*, notification: ItineraryNotification, by: User):
    """A coordinator re-queues a failed notification."""
    row = ItineraryNotification.objects.select_for_update().get(pk=notification.pk)
    if row.status != Status.FAILED:
        raise ValidationError({"status": ["Only a failed notification can be retried."]})
    row.status = Status.QUEUED
    row.attempts = 0
    row.save(update_fields=["status", "attempts"])
    enqueue_on_commit(SEND_TASK, row.pk)
    return row


@transaction.atomic
def notification_acknowledge_by_link(*, token: str) -> ItineraryNotification:
    """The party clicked "acknowledge receipt" in its message. Single use."""
    found = notification_from_ack_token(token)
    row = ItineraryNotification.objects.select_for_update().get(pk=found.pk)
    if row.acknowledged_at is not None:
        local = timezone.localtime(row.acknowledged_at)
        raise AckLinkError(
            f"This itinerary was already acknowledged on {local:%d %b %Y %H:%M} "
            f"({settings.TIME_ZONE}); the link cannot be used again."
        )
    if row.status not in (Status.SENT, Status.SENDING):
        raise AckLinkError("This notification cannot be acknowledged.")
    _acknowledge(row, method=ItineraryNotification.AckMethod.LINK, by=None, note="", at=None)
    return row


def _acknowledge(row, *, method, by, note, at):
    row.status = Status.ACKNOWLEDGED
    row.acknowledged_at = at or timezone.now()
    row.ack_method = method
    row.ack_recorded_by = by
    row.ack_note = note
    row.save(
        update_fields=["status", "acknowledged_at", "ack_method", "ack_recorded_by", "ack_note"]
    )
    _plan_notified_if_all_sent(row.version)


def require_liaison(by):
    """Refuse (403) anyone who may not record on a notification; asked by the API before it
    reads the body, and by the services."""
    if not can_record_notifications(by):
        raise PermissionDenied("Only a liaison officer or a coordinator can record this.")


@transaction.atomic
def notification_acknowledge_manually(
    *, notification: ItineraryNotification, by: User, method: str, note: str,
    at: datetime | None = None,
) -> ItineraryNotification:  # fmt: skip
    """A liaison officer records an acknowledgement received by phone, hotline or in person
    (which also counts as delivery when the e-mail could not be sent)."""
    require_liaison(by)
    row = ItineraryNotification.objects.select_for_update().get(pk=notification.pk)
    if row.acknowledged_at is not None:
        raise ValidationError({"status": ["This notification is already acknowledged."]})
    if method not in ItineraryNotification.AckMethod.values or method == "link":
        raise ValidationError({"method": ["Say how the acknowledgement was received."]})
    if not (note or "").strip():
        raise ValidationError({"note": ["Say who acknowledged, and how."]})
    if at is not None and at > timezone.now():
        raise ValidationError({"at": ["The acknowledgement cannot be in the future."]})
    _acknowledge(row, method=method, by=by, note=note.strip(), at=at)
    return row


@transaction.atomic
def notification_record_objection(
    *, notification: ItineraryNotification, by: User, text: str
) -> ItineraryNotification:
    require_liaison(by)
    if not (text or "").strip():
        raise ValidationError({"text": ["Write down the party's objection."]})
    row = ItineraryNotification.objects.select_for_update().get(pk=notification.pk)
    row.objection = text.strip()
    row.objection_recorded_at = timezone.now()
    row.save(update_fields=["objection", "objection_recorded_at"])
    return row


def notifications_escalate(*, now: datetime | None = None) -> int:
    """Tell the approving coordinator about parties that have not acknowledged a current
    itinerary when departure is near. Each notification is escalated once (its
    `escalated_at` is the claim), so the job can run as often as it likes."""
    now = now or timezone.now()
    horizon = now + timedelta(hours=settings.PATROL_ACK_ESCALATION_HOURS)
    candidates = ItineraryNotification.objects.filter(
        purpose=ItineraryNotification.Purpose.ITINERARY,
        acknowledged_at__isnull=True,
        escalated_at__isnull=True,
        version__plan__status__in=[PatrolPlan.Status.APPROVED, PatrolPlan.Status.NOTIFIED],
        version__plan__planned_departure__lte=horizon,
        version__plan__planned_departure__gt=now,
    ).values_list("pk", flat=True)
    escalated = 0
    for pk in list(candidates):
        with transaction.atomic():
            row = (
                # of=self: lock the notification only, not the plan, base and user rows the
                # join reads (they would deadlock with writers locking those in another order;
                # a plan amended meanwhile is caught by the version check below).
                ItineraryNotification.objects.select_for_update(of=("self",))
                .select_related("version__plan__forward_base", "version__approved_by", "party")
                .get(pk=pk)
            )
            if row.escalated_at is not None or row.acknowledged_at is not None:
                continue
            if row.version.number != row.version.plan.version:
                continue  # superseded: the amendment's own notification counts
            row.escalated_at = now
            row.save(update_fields=["escalated_at"])
            plan = row.version.plan
            departure = timezone.localtime(plan.planned_departure)
            to = sorted({row.version.approved_by.email} - {""})
            transaction.on_commit(
                lambda row=row, plan=plan, departure=departure, to=to: send_mail(
                    f"Not acknowledged: {row.party} — {plan.forward_base} patrol "
                    f"{departure:%d %b %H:%M}",
                    f"{row.party} has not acknowledged itinerary v{row.version.number} of the "
                    f"{plan.forward_base} patrol leaving {departure:%d %b %Y %H:%M} "
                    f"({settings.TIME_ZONE}). Status: {row.get_status_display()}. "
                    "Ask the liaison officer to call the party's hotline.",
                    settings.DEFAULT_FROM_EMAIL,
                    to,
                    fail_silently=True,
                )
            )
            escalated += 1
    return escalated

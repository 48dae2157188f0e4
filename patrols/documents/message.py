"""The e-mail carrying the itinerary to one party: the same text for every party but the
greeting and the acknowledgement link, the PDF (and GPX) attached, threaded with the earlier
versions' messages."""

from django.conf import settings
from django.core.mail import EmailMessage

from liaison.selectors import email_addresses
from patrols.documents.gpx import itinerary_gpx
from patrols.documents.itinerary import CANCELLATION, Itinerary, mission_name
from patrols.documents.pdf import itinerary_pdf
from patrols.models import ItineraryNotification


def _subject(it: Itinerary, purpose: str) -> str:
    where = f"{it.base}, {it.local_date:%d %b %Y}"
    if purpose == CANCELLATION:
        return f"CANCELLED: patrol itinerary — {where} — v{it.number}"
    amended = f" (AMENDED, supersedes v{it.supersedes})" if it.supersedes else ""
    return f"Patrol itinerary — {where} — v{it.number}{amended}"


def _body(it: Itinerary, notification: ItineraryNotification, ack_url: str, parties) -> str:
    c = it.content
    cancelled = notification.purpose == CANCELLATION
    dep, ret = it.when(c["planned_departure"]), it.when(c["planned_return"])
    lines = [f"Dear {notification.party.name},", ""]
    if cancelled:
        lines += [
            f"The {mission_name()} informs you that the patrol below is CANCELLED and will "
            "not take place.",
            f"This cancels itinerary version {it.number} as last notified to you.",
        ]
    else:
        lines.append(f"The {mission_name()} notifies you of the following patrol.")
        if it.supersedes:
            lines.append(
                f"This is version {it.number} of the itinerary. It AMENDS and supersedes "
                f"version {it.supersedes}, which no longer applies."
            )
    vehicles = [f"{v['call_sign']} (plate {v['plate']})" for v in it.vehicles]
    lines += [
        "",
        f"Forward base:   {it.base}",
        f"Purpose:        {c['purpose']}",
        f"Departure:      {dep['date']} {dep['time']} {it.zone_name} ({dep['utc']})",
        f"Return:         {ret['date']} {ret['time']} {it.zone_name} ({ret['utc']})",
        f"Escort:         {it.escort}",
        f"Team size:      {it.team}",
        f"Vehicles:       {'; '.join(vehicles) or 'none listed'}",
        f"Sectors:        {', '.join(c.get('sectors') or []) or '—'}",
        f"Settlements within 5 km: {', '.join(c.get('nearby_settlements') or []) or 'none'}",
        "",
        f"Waypoints (planned times {it.zone_name}, UTC in brackets):",
    ]
    for w in it.waypoints:
        when = f"  {w['when']['short']}" if w["when"] else ""
        lines.append(f"  {w['position']}. {w['name']} — {w['lat_text']}, {w['lon_text']}{when}")
    attached = (
        "The cancellation notice is attached as a PDF."
        if cancelled
        else "The itinerary is attached as a PDF, and as a GPX file for navigation software."
    )
    lines += [
        "",
        attached,
        f"Content checksum (SHA-256, first 16 characters): {it.checksum}",
        "",
        "Please acknowledge receipt by opening this link:",
        ack_url,
        "",
        f"The same {'notice' if cancelled else 'itinerary'} is sent to every party concerned: "
        f"{', '.join(parties)}.",
        "",
        mission_name(),
    ]
    return "\n".join(lines) + "\n"


def _message_id(plan_id, number, party_code, purpose) -> str:
    return f"<itinerary-{plan_id}-v{number}-{party_code}-{purpose}@missionapp>"


def itinerary_message(notification: ItineraryNotification, *, ack_url: str) -> EmailMessage:
    """The e-mail for one party: same itinerary for all; only greeting and ack link differ.

    The Message-ID is derived from plan, version, party and purpose, so a resend is
    recognisably the same message; amendments and cancellations refer to the earlier ones,
    so mail clients thread them together.
    """
    version = notification.version
    it = Itinerary(version)
    purpose = notification.purpose
    parties = list(
        version.notifications.filter(purpose=purpose)
        .order_by("party__name")
        .values_list("party__name", flat=True)
    )
    plan_id = it.content["plan"]
    earlier = [_message_id(plan_id, n, notification.party.code, "itinerary")
               for n in range(1, it.number + (1 if purpose == CANCELLATION else 0))]  # fmt: skip
    headers = {"Message-ID": _message_id(plan_id, it.number, notification.party.code, purpose)}
    if earlier:
        headers["References"] = " ".join(earlier)
        headers["In-Reply-To"] = earlier[-1]
    message = EmailMessage(
        subject=_subject(it, purpose),
        body=_body(it, notification, ack_url, parties),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=email_addresses(notification.recipients),
        headers=headers,
    )
    stem = "cancellation" if purpose == CANCELLATION else "itinerary"
    message.attach(
        it.filename(stem, "pdf"), itinerary_pdf(version, purpose=purpose), "application/pdf"
    )
    if purpose != CANCELLATION:
        message.attach(
            it.filename("itinerary", "gpx"), itinerary_gpx(version), "application/gpx+xml"
        )
    return message

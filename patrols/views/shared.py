"""What every patrol page shares: the plan a user may open, the parties' badges, the map's
data, mission-time display, the reason forms, and a service refusal shown as messages."""

import json
from datetime import UTC

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from patrols import forms
from patrols.models import ItineraryNotification, PatrolPlan
from patrols.selectors import can_see_plans, patrol_plan_list

Status = PatrolPlan.Status
N = ItineraryNotification.Status
STAFF_ONLY = "Patrol plans are for the mission's staff."
# The parties' short names on the calendar badges; a party added later shows its code.
PARTY_BADGES = {"armenia": "AM", "azerbaijan": "AZ", "russian-border-guards": "RU", "eusr": "EU"}
BADGE_WORDS = {N.ACKNOWLEDGED: "✓ ack", N.SENT: "sent", N.SENDING: "sending",
               N.QUEUED: "queued", N.FAILED: "failed"}  # fmt: skip
REASON_LABELS = {
    "cancel": "Why the patrol is cancelled",
    "abort": "Why the patrol was aborted",
    "return": "Why it goes back to the team leader",
}


def visible_plan(request, pk) -> PatrolPlan:
    """The plan if this user may see it: 403 when it is another base's filed plan; 404 for
    another person's draft, as for no plan (a draft is its planners' and crew's alone)."""
    if not can_see_plans(request.user):
        raise PermissionDenied(STAFF_ONLY)
    plan = patrol_plan_list(user=request.user).filter(pk=pk).first()
    if plan is None:
        if PatrolPlan.objects.filter(pk=pk).exclude(status=Status.DRAFT).exists():
            raise PermissionDenied("This plan belongs to another forward base.")
        get_object_or_404(PatrolPlan.objects.none(), pk=pk)
    return plan


def current_notifications(plan):
    """The notifications of the version the parties hold (prefetched by patrol_plan_list)."""
    version = next((v for v in plan.versions.all() if v.number == plan.version), None)
    if version is None:
        return []
    rows = list(version.notifications.all())
    cancelled = [n for n in rows if n.purpose == ItineraryNotification.Purpose.CANCELLATION]
    if plan.status == Status.CANCELLED and cancelled:
        return cancelled
    return [n for n in rows if n.purpose == ItineraryNotification.Purpose.ITINERARY]


def badge(notification):
    short = PARTY_BADGES.get(notification.party.code, notification.party.code.upper())
    escalated = notification.escalated_at is not None and notification.acknowledged_at is None
    title = f"{notification.party.name}: {notification.get_status_display().lower()}"
    if notification.acknowledged_at:
        local = timezone.localtime(notification.acknowledged_at, forms.mission_zone())
        title += f" {local:%d %b %H:%M} ({settings.TIME_ZONE})"
    if escalated:
        title += "; not acknowledged near departure (escalated)"
    if notification.objection:
        title += "; objection recorded"
    return {
        "text": f"{short} {BADGE_WORDS.get(notification.status, notification.status)}",
        "status": notification.status,
        "title": title,
        "escalated": escalated,
        "objection": bool(notification.objection),
        "purpose": notification.purpose,
    }


def with_badges(plans):
    plans = list(plans)
    for plan in plans:
        plan.badges = [badge(n) for n in current_notifications(plan)]
        plan.escalated = any(b["escalated"] for b in plan.badges)
    return plans


def plan_map_data(plan, findings):
    return {
        "route": json.loads(plan.route.geojson) if plan.route else None,
        "waypoints": [
            {"position": w.position, "name": w.name, "lat": w.location.y, "lon": w.location.x}
            for w in plan.waypoints.all()
        ],
        "findings": [f.as_dict() for f in findings if f.geometry],
    }


def zones_at(plan) -> str:
    """The restricted-zone layer as it will stand at departure, not as it stands today."""
    at = plan.planned_departure.astimezone(UTC)
    return f"{reverse('api-restricted-zones')}?at={at:%Y-%m-%dT%H:%M:%SZ}"


def local(value):
    return timezone.localtime(value, forms.mission_zone())


def reason_form(prefix, data=None):
    return forms.ReasonForm(data, prefix=prefix, label=REASON_LABELS[prefix])

"""The coordinator's decision on a submitted itinerary: return it, or approve it as a new
frozen version and queue every party's notification in the same transaction.

The plan row is locked first (plans.lock_plan), as for every state change.
"""

import hashlib
import json
from datetime import UTC, datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from core.models import User
from patrols.models import ItineraryVersion, PatrolPlan
from patrols.selectors import can_approve, patrol_plan_is_own
from patrols.services import safety
from patrols.services.notifications import notifications_queue
from patrols.services.plans import blocking_messages, lock_plan


def require_coordinator(plan, by):
    """Refuse (403) anyone but a coordinator who neither wrote nor leads the plan (four eyes);
    the views and the API ask it before they read a body, the services again under the lock."""
    if not can_approve(by):
        raise PermissionDenied("Only a coordinator can approve or return a patrol plan.")
    if patrol_plan_is_own(by, plan):
        raise PermissionDenied(
            "Four eyes: a coordinator cannot approve or return a plan they wrote or lead."
        )


@transaction.atomic
def patrol_plan_return(*, plan: PatrolPlan, by: User, reason: str) -> PatrolPlan:
    plan = lock_plan(plan)
    require_coordinator(plan, by)
    if not (reason or "").strip():
        raise ValidationError({"reason": ["Say why the plan is returned."]})
    plan.move_to(PatrolPlan.Status.RETURNED, reason.strip())
    plan.save(update_fields=["status", "status_reason"])
    return plan


def itinerary_content(plan: PatrolPlan, number: int) -> dict:
    """What every party receives: identical for all of them, frozen in the version."""
    tz = settings.TIME_ZONE
    return {
        "plan": plan.pk,
        "version": number,
        "supersedes": number - 1 if number > 1 else None,
        "forward_base": plan.forward_base.name,
        "purpose": plan.purpose,
        "planned_departure": plan.planned_departure.astimezone(UTC).isoformat(),
        "planned_return": plan.planned_return.astimezone(UTC).isoformat(),
        "time_zone": tz,
        "escort": {"present": plan.escort, "unit": plan.escort_unit},
        "vehicles": [
            {"call_sign": v.call_sign, "plate": v.plate}
            for v in plan.vehicles.order_by("call_sign")
        ],
        "team_size": 1 + plan.monitors.exclude(pk=plan.team_leader_id).count(),
        "route": [[round(x, 6), round(y, 6)] for x, y in plan.route.coords],
        "waypoints": [
            {
                "position": w.position,
                "name": w.name,
                "lon": round(w.location.x, 6),
                "lat": round(w.location.y, 6),
                "planned_time": w.planned_time.astimezone(UTC).isoformat()
                if w.planned_time
                else None,
            }
            for w in plan.waypoints.order_by("position")
        ],
        "sectors": sorted(plan.sectors.values_list("name", flat=True)),
        "nearby_settlements": sorted(plan.nearby_settlements.values_list("name", flat=True)),
    }


def content_checksum(content: dict) -> str:
    """The SHA-256 of the canonical JSON of a version's content (printed on its documents)."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@transaction.atomic
def patrol_plan_approve(
    *,
    plan: PatrolPlan,
    by: User,
    accept_warnings: list[str] = (),
    urgent_justification: str = "",
    now: datetime | None = None,
) -> ItineraryVersion:
    """Approve the submitted itinerary and, in the same transaction, queue one notification
    per party (patrols.services.notifications) so no party can be told without the others.

    Preconditions: `by` is a coordinator who neither wrote nor leads the plan; the checks
    find nothing blocking; every warning's code is in `accept_warnings`; a departure inside
    the notice period needs `urgent_justification`.
    Effects: a new ItineraryVersion (v1, or the next one for an amendment), the plan approved
    at that version, the notifications queued and their sending enqueued after commit.
    """
    plan = lock_plan(plan)
    require_coordinator(plan, by)
    if plan.status != PatrolPlan.Status.SUBMITTED:
        plan.move_to(PatrolPlan.Status.APPROVED)  # raises the lifecycle's error
    findings = safety.itinerary_check(plan, now=now)
    errors = blocking_messages(findings, allow_override=True)
    if errors:
        raise ValidationError({"route": errors})
    missing = [
        f.message
        for f in findings
        if f.severity == safety.WARNING and f.code not in set(accept_warnings)
    ]
    if missing:
        raise ValidationError(
            {"accept_warnings": [f"Accept this warning to approve: {m}" for m in missing]}
        )
    urgent = any(f.severity == safety.OVERRIDE for f in findings)
    justification = (urgent_justification or "").strip()
    if urgent and not justification:
        raise ValidationError(
            {
                "urgent_justification": [
                    "Departure is inside the notice period: record why this patrol is urgent."
                ]
            }
        )

    number = plan.version + 1
    content = itinerary_content(plan, number)
    version = ItineraryVersion(
        plan=plan,
        number=number,
        content=content,
        content_sha256=content_checksum(content),
        approved_by=by,
        approved_at=timezone.now(),
        accepted_warnings=[
            f.as_dict() | {"geometry": None} for f in findings if f.severity == safety.WARNING
        ],
    )
    version.full_clean()
    version.save()

    plan.move_to(PatrolPlan.Status.APPROVED)
    plan.version = number
    if urgent:
        plan.urgent_override = True
        plan.override_justification = justification
    plan.save(update_fields=["status", "version", "urgent_override", "override_justification"])
    notifications_queue(version=version, purpose="itinerary")
    return version

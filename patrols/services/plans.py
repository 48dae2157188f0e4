"""The life of a patrol plan: write, submit, return, approve, amend, cancel, run.

Every state change locks the plan row (SELECT ... FOR UPDATE) so two coordinators, or a
coordinator and a team leader, cannot act on the same plan at once, and checks the current
state through PatrolPlan.move_to, which refuses illegal transitions with a clear error.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.gis.geos import LineString, Point
from django.contrib.gis.measure import D
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from core.geometry import geometry_checked
from core.models import ForwardBase, Province, Settlement, User
from core.roles import Role, has_role
from core.selectors import as_wgs84
from patrols.models import ItineraryVersion, PatrolPlan, Vehicle, Waypoint
from patrols.services import safety

NEARBY_SETTLEMENT_KM = 5


@dataclass(frozen=True)
class WaypointSpec:
    name: str
    location: Point
    planned_time: datetime | None = None


@dataclass(frozen=True)
class VehicleSpec:
    call_sign: str
    plate: str


def _as_route(route, waypoints):
    """The checked route: drawn, or joining two or more waypoints. Commands and the demo call
    the services directly, so the check at the API and the page form is made here again:
    nothing reaches the spatial queries unchecked (core.geometry)."""
    for waypoint in waypoints or ():
        geometry_checked(as_wgs84(waypoint.location), kinds=("Point",), field="waypoints")
    if route is None and waypoints and len(waypoints) >= 2:
        route = LineString([w.location.coords for w in waypoints], srid=4326)
    if route is None:
        return None
    return geometry_checked(as_wgs84(route), kinds=("LineString",), field="route")


def _derive_places(plan: PatrolPlan):
    """Sectors and nearby settlements come from the route, never from what was typed."""
    if plan.route is None:
        plan.sectors.clear()
        plan.nearby_settlements.clear()
        return
    plan.sectors.set(Province.objects.filter(is_sector=True, geom__intersects=plan.route))
    plan.nearby_settlements.set(
        Settlement.objects.filter(location__distance_lte=(plan.route, D(km=NEARBY_SETTLEMENT_KM)))
    )


def _replace_parts(plan, vehicles, waypoints):
    if vehicles is not None:
        plan.vehicles.all().delete()
        for spec in vehicles:
            vehicle = Vehicle(plan=plan, call_sign=spec.call_sign, plate=spec.plate)
            vehicle.full_clean()
            vehicle.save()
    if waypoints is not None:
        plan.waypoints.all().delete()
        for position, spec in enumerate(waypoints, start=1):
            waypoint = Waypoint(
                plan=plan,
                position=position,
                name=spec.name,
                location=spec.location,
                planned_time=spec.planned_time,
            )
            waypoint.full_clean()
            waypoint.save()


def _check_times(planned_departure, waypoints):
    if timezone.is_naive(planned_departure):
        raise ValidationError({"planned_departure": ["Give the time with its time zone."]})
    for index, spec in enumerate(waypoints or []):
        if spec.planned_time is not None and timezone.is_naive(spec.planned_time):
            raise ValidationError(
                {f"waypoints.{index}.planned_time": ["Give the time with its time zone."]}
            )


@transaction.atomic
def patrol_plan_create(
    *,
    forward_base: ForwardBase,
    team_leader: User,
    purpose: str,
    planned_departure: datetime,
    planned_return: datetime,
    route: LineString | None = None,
    waypoints: list[WaypointSpec] | None = None,
    vehicles: list[VehicleSpec] | None = None,
    monitors: list[User] | None = None,
    escort: bool = False,
    escort_unit: str = "",
    author: User | None = None,
    status: str = PatrolPlan.Status.DRAFT,
) -> PatrolPlan:
    """Create a draft patrol plan.

    Preconditions: the return is after the departure; times are aware. The route is drawn
    (a LineString, any SRID) or, when absent, built from two or more waypoints.
    Effects: the plan, its vehicles and waypoints; sectors and nearby settlements derived
    from the route. `status` other than draft is for demo and imported history only.
    """
    _check_times(planned_departure, waypoints)
    plan = PatrolPlan(
        forward_base=forward_base,
        team_leader=team_leader,
        author=author,
        purpose=purpose,
        escort=escort,
        escort_unit=escort_unit,
        planned_departure=planned_departure,
        planned_return=planned_return,
        route=_as_route(route, waypoints),
        status=status,
    )
    plan.full_clean()
    plan.save()
    if monitors:
        plan.monitors.set(monitors)
    _replace_parts(plan, vehicles, waypoints)
    _derive_places(plan)
    return plan


EDITABLE_FIELDS = {
    "purpose", "planned_departure", "planned_return", "escort", "escort_unit", "team_leader",
    "forward_base",
}  # fmt: skip


def _lock(plan: PatrolPlan) -> PatrolPlan:
    return PatrolPlan.objects.select_for_update().get(pk=plan.pk)


def _apply_changes(plan, by, route, waypoints, vehicles, monitors, fields):
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError({name: ["This field cannot be changed."] for name in unknown})
    _check_times(fields.get("planned_departure", plan.planned_departure), waypoints)
    for name, value in fields.items():
        setattr(plan, name, value)
    if route is not None or waypoints is not None:
        plan.route = _as_route(route, waypoints)
    plan.full_clean()
    plan.save()
    if monitors is not None:
        plan.monitors.set(monitors)
    _replace_parts(plan, vehicles, waypoints)
    _derive_places(plan)


def _require_planner(plan, by):
    # Not administrators: they run the system, not patrols (a field role is given to one who
    # must plan).
    if not (by.pk in (plan.author_id, plan.team_leader_id) or has_role(by, Role.COORDINATOR)):
        raise PermissionDenied("Only the plan's author or team leader can change it.")


@transaction.atomic
def patrol_plan_update(
    *, plan: PatrolPlan, by: User, route=None, waypoints=None, vehicles=None, monitors=None,
    **fields,
) -> PatrolPlan:  # fmt: skip
    """Edit a draft or returned plan. An approved or notified plan is amended instead."""
    plan = _lock(plan)
    _require_planner(plan, by)
    if plan.status in PatrolPlan.AMENDABLE:
        raise ValidationError(
            {"status": ["This itinerary is approved: amend it (a new version) instead."]}
        )
    if plan.status not in PatrolPlan.EDITABLE:
        raise ValidationError(
            {"status": [f"A {plan.get_status_display().lower()} plan cannot be edited."]}
        )
    _apply_changes(plan, by, route, waypoints, vehicles, monitors, fields)
    return plan


@transaction.atomic
def patrol_plan_amend(
    *, plan: PatrolPlan, by: User, route=None, waypoints=None, vehicles=None, monitors=None,
    **fields,
) -> PatrolPlan:  # fmt: skip
    """Change an approved or notified itinerary: it goes back for approval, and the parties
    keep the version they have until the amendment is approved and sent to every one of them.
    """
    plan = _lock(plan)
    _require_planner(plan, by)
    if plan.status not in PatrolPlan.AMENDABLE:
        raise ValidationError(
            {"status": ["Only an approved or notified itinerary is amended; edit this plan."]}
        )
    _apply_changes(plan, by, route, waypoints, vehicles, monitors, fields)
    plan.move_to(PatrolPlan.Status.SUBMITTED)
    plan.save(update_fields=["status"])
    return plan


def _blocking(findings, *, allow_override=False):
    errors = [f.message for f in findings if f.severity == safety.BLOCKING]
    if not allow_override:
        errors += [f.message for f in findings if f.severity == safety.OVERRIDE]
    return errors


@transaction.atomic
def patrol_plan_submit(*, plan: PatrolPlan, by: User) -> list[safety.Finding]:
    """Submit for approval. Refused when the itinerary has a blocking problem (a restricted
    zone, a part outside the mission area, no route). Returns the findings the coordinator
    will see (warnings, and a short notice that needs an urgent override)."""
    plan = _lock(plan)
    _require_planner(plan, by)
    findings = safety.itinerary_check(plan)
    errors = _blocking(findings, allow_override=True)
    if errors:
        raise ValidationError({"route": errors})
    plan.move_to(PatrolPlan.Status.SUBMITTED)
    plan.save(update_fields=["status"])
    return findings


@transaction.atomic
def patrol_plan_return(*, plan: PatrolPlan, by: User, reason: str) -> PatrolPlan:
    plan = _lock(plan)
    _require_coordinator(plan, by)
    if not (reason or "").strip():
        raise ValidationError({"reason": ["Say why the plan is returned."]})
    plan.move_to(PatrolPlan.Status.RETURNED, reason.strip())
    plan.save(update_fields=["status", "status_reason"])
    return plan


def _require_coordinator(plan, by):
    if not has_role(by, Role.COORDINATOR):
        raise PermissionDenied("Only a coordinator can approve or return a patrol plan.")
    if by.pk in (plan.author_id, plan.team_leader_id):
        raise PermissionDenied(
            "Four eyes: a coordinator cannot approve or return a plan they wrote or lead."
        )


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
    from patrols.services.notifications import notifications_queue

    plan = _lock(plan)
    _require_coordinator(plan, by)
    if plan.status != PatrolPlan.Status.SUBMITTED:
        plan.move_to(PatrolPlan.Status.APPROVED)  # raises the lifecycle's error
    findings = safety.itinerary_check(plan, now=now)
    errors = _blocking(findings, allow_override=True)
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
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    version = ItineraryVersion(
        plan=plan,
        number=number,
        content=content,
        content_sha256=hashlib.sha256(canonical.encode()).hexdigest(),
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


@transaction.atomic
def patrol_plan_cancel(*, plan: PatrolPlan, by: User, reason: str) -> PatrolPlan:
    """Cancel before departure. Every party told of any version is told of the cancellation."""
    from patrols.services.notifications import notifications_queue

    plan = _lock(plan)
    _require_planner(plan, by)
    if not (reason or "").strip():
        raise ValidationError({"reason": ["Say why the patrol is cancelled."]})
    plan.move_to(PatrolPlan.Status.CANCELLED, reason.strip())
    plan.save(update_fields=["status", "status_reason"])
    latest = plan.versions.order_by("-number").first()
    if latest is not None:
        notifications_queue(version=latest, purpose="cancellation")
    return plan


def _require_team_leader(plan, by):
    if by.pk != plan.team_leader_id:
        raise PermissionDenied("Only the patrol's team leader can start or end it.")


@transaction.atomic
def patrol_start(*, plan: PatrolPlan, by: User, at: datetime | None = None) -> PatrolPlan:
    """The patrol leaves. Only on an itinerary every party has been sent (status notified)."""
    plan = _lock(plan)
    _require_team_leader(plan, by)
    if plan.status == PatrolPlan.Status.APPROVED:
        raise ValidationError(
            {"status": ["Not every party has been sent the itinerary yet: the patrol waits."]}
        )
    plan.move_to(PatrolPlan.Status.UNDER_WAY)
    plan.started_at = at or timezone.now()
    plan.save(update_fields=["status", "started_at"])
    return plan


@transaction.atomic
def patrol_complete(*, plan: PatrolPlan, by: User, at: datetime | None = None) -> PatrolPlan:
    plan = _lock(plan)
    _require_team_leader(plan, by)
    plan.move_to(PatrolPlan.Status.COMPLETED)
    plan.ended_at = at or timezone.now()
    plan.save(update_fields=["status", "ended_at"])
    return plan


@transaction.atomic
def patrol_abort(
    *, plan: PatrolPlan, by: User, reason: str, at: datetime | None = None
) -> PatrolPlan:
    plan = _lock(plan)
    _require_team_leader(plan, by)
    if not (reason or "").strip():
        raise ValidationError({"reason": ["Say why the patrol was aborted."]})
    plan.move_to(PatrolPlan.Status.ABORTED, reason.strip())
    plan.ended_at = at or timezone.now()
    plan.save(update_fields=["status", "status_reason", "ended_at"])
    return plan


# The checks the views make before they read a request's body (a refusal is a refusal
# whatever the body says): the same predicates the services apply again under the lock.
require_planner = _require_planner
require_coordinator = _require_coordinator
require_team_leader = _require_team_leader

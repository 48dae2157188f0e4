"""The planner's side of a patrol plan: write, edit, amend, submit, cancel.

The coordinator's decision (return, approve) is in approval.py, the patrol on its way (start,
complete, abort, track) in execution.py. Every state change locks the plan row (SELECT ...
FOR UPDATE, `lock_plan`) so two coordinators, or a coordinator and a team leader, cannot act
on the same plan at once, and checks the current state through PatrolPlan.move_to, which
refuses illegal transitions with a clear error. Who may act is asked of patrols.selectors.
"""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.gis.geos import LineString, Point
from django.contrib.gis.measure import D
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from core.geometry import geometry_checked
from core.models import ForwardBase, Province, Settlement, User
from core.selectors import as_wgs84
from patrols.models import PatrolPlan, Vehicle, Waypoint
from patrols.selectors import patrol_plan_is_planner
from patrols.services import safety
from patrols.services.notifications import notifications_queue

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


def lock_plan(plan: PatrolPlan) -> PatrolPlan:
    """The plan's row, locked until the transaction ends (every state change takes it)."""
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


def require_planner(plan, by):
    """Refuse (403) anyone but the plan's planners; the views and the API ask it before they
    read a body, the services again under the lock."""
    if not patrol_plan_is_planner(by, plan):
        raise PermissionDenied("Only the plan's author or team leader can change it.")


@transaction.atomic
def patrol_plan_update(
    *, plan: PatrolPlan, by: User, route=None, waypoints=None, vehicles=None, monitors=None,
    **fields,
) -> PatrolPlan:  # fmt: skip
    """Edit a draft or returned plan. An approved or notified plan is amended instead."""
    plan = lock_plan(plan)
    require_planner(plan, by)
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
    plan = lock_plan(plan)
    require_planner(plan, by)
    if plan.status not in PatrolPlan.AMENDABLE:
        raise ValidationError(
            {"status": ["Only an approved or notified itinerary is amended; edit this plan."]}
        )
    _apply_changes(plan, by, route, waypoints, vehicles, monitors, fields)
    plan.move_to(PatrolPlan.Status.SUBMITTED)
    plan.save(update_fields=["status"])
    return plan


def blocking_messages(findings, *, allow_override=False) -> list[str]:
    """What stops the itinerary: blocking findings, and a short notice unless overridable."""
    errors = [f.message for f in findings if f.severity == safety.BLOCKING]
    if not allow_override:
        errors += [f.message for f in findings if f.severity == safety.OVERRIDE]
    return errors


@transaction.atomic
def patrol_plan_submit(*, plan: PatrolPlan, by: User) -> list[safety.Finding]:
    """Submit for approval. Refused when the itinerary has a blocking problem (a restricted
    zone, a part outside the mission area, no route). Returns the findings the coordinator
    will see (warnings, and a short notice that needs an urgent override)."""
    plan = lock_plan(plan)
    require_planner(plan, by)
    findings = safety.itinerary_check(plan)
    errors = blocking_messages(findings, allow_override=True)
    if errors:
        raise ValidationError({"route": errors})
    plan.move_to(PatrolPlan.Status.SUBMITTED)
    plan.save(update_fields=["status"])
    return findings


@transaction.atomic
def patrol_plan_cancel(*, plan: PatrolPlan, by: User, reason: str) -> PatrolPlan:
    """Cancel before departure. Every party told of any version is told of the cancellation."""
    plan = lock_plan(plan)
    require_planner(plan, by)
    if not (reason or "").strip():
        raise ValidationError({"reason": ["Say why the patrol is cancelled."]})
    plan.move_to(PatrolPlan.Status.CANCELLED, reason.strip())
    plan.save(update_fields=["status", "status_reason"])
    latest = plan.versions.order_by("-number").first()
    if latest is not None:
        notifications_queue(version=latest, purpose="cancellation")
    return plan

"""On the way: the patrol starts, completes or aborts; the team leader's tablet uploads its GPS
track; the patrol records the movement restrictions it met."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.conf import settings
from django.contrib.gis.geos import LineString, Point
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from core import selectors as geo
from core.geometry import geometry_checked
from core.models import User
from patrols.models import MovementRestriction, PatrolPlan, TrackPoint
from patrols.selectors import patrol_plan_is_team_leader
from patrols.services.plans import lock_plan
from patrols.services.safety import UTM


@dataclass(frozen=True)
class TrackFix:
    uuid: UUID
    recorded_at: datetime
    location: Point


def require_on_patrol(plan, by):
    """Refuse (403) anyone but the patrol's team leader and monitors; asked by the API before
    it reads the body, and by the services."""
    on_patrol = by.pk == plan.team_leader_id or plan.monitors.filter(pk=by.pk).exists()
    if not on_patrol:
        raise PermissionDenied("Only a member of this patrol can report from it.")


def require_track_uploader(plan, by):
    if not patrol_plan_is_team_leader(by, plan):
        raise PermissionDenied("Only the patrol's team leader uploads its track.")


def require_team_leader(plan, by):
    """Refuse (403) anyone but the patrol's team leader; asked before a body is read too."""
    if not patrol_plan_is_team_leader(by, plan):
        raise PermissionDenied("Only the patrol's team leader can start or end it.")


@transaction.atomic
def patrol_start(*, plan: PatrolPlan, by: User, at: datetime | None = None) -> PatrolPlan:
    """The patrol leaves. Only on an itinerary every party has been sent (status notified)."""
    plan = lock_plan(plan)
    require_team_leader(plan, by)
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
    plan = lock_plan(plan)
    require_team_leader(plan, by)
    plan.move_to(PatrolPlan.Status.COMPLETED)
    plan.ended_at = at or timezone.now()
    plan.save(update_fields=["status", "ended_at"])
    return plan


@transaction.atomic
def patrol_abort(
    *, plan: PatrolPlan, by: User, reason: str, at: datetime | None = None
) -> PatrolPlan:
    plan = lock_plan(plan)
    require_team_leader(plan, by)
    if not (reason or "").strip():
        raise ValidationError({"reason": ["Say why the patrol was aborted."]})
    plan.move_to(PatrolPlan.Status.ABORTED, reason.strip())
    plan.ended_at = at or timezone.now()
    plan.save(update_fields=["status", "status_reason", "ended_at"])
    return plan


def _notified_route(plan):
    version = plan.versions.filter(number=plan.version).first()
    if version is None:
        return None
    return LineString(version.content["route"], srid=4326)


@transaction.atomic
def track_upload(*, plan: PatrolPlan, by: User, fixes: list[TrackFix]) -> dict:
    """Store GPS fixes; a fix already stored (same UUID) is skipped, so a tablet may resend.

    Effects: the plan's farthest distance from the notified route is updated; above
    PATROL_DEVIATION_KM the plan is flagged (`flagged_deviation`).
    """
    plan = PatrolPlan.objects.select_for_update().get(pk=plan.pk)
    require_track_uploader(plan, by)
    if plan.status not in (PatrolPlan.Status.UNDER_WAY, PatrolPlan.Status.COMPLETED,
                           PatrolPlan.Status.ABORTED):  # fmt: skip
        raise ValidationError({"status": ["A track is uploaded once the patrol has started."]})
    for index, fix in enumerate(fixes):
        if timezone.is_naive(fix.recorded_at):
            raise ValidationError({f"points.{index}.recorded_at": ["Give the time zone."]})
    known = set(
        TrackPoint.objects.filter(uuid__in=[f.uuid for f in fixes]).values_list("uuid", flat=True)
    )
    # One fix per UUID, the first sent: a batch that repeats one is answered as stored once.
    fresh, seen = [], set(known)
    for fix in fixes:
        if fix.uuid not in seen:
            seen.add(fix.uuid)
            fresh.append(fix)
    # Not audited (telemetry, not a decision); a database constraint keeps it unique even if
    # two uploads race, and ignore_conflicts turns the loser's row into a no-op.
    TrackPoint.objects.bulk_create(
        [TrackPoint(uuid=f.uuid, plan=plan, recorded_at=f.recorded_at, location=f.location)
         for f in fresh],
        ignore_conflicts=True,
    )  # fmt: skip
    route = _notified_route(plan)
    if route is not None and fresh:
        route_utm = route.transform(UTM, clone=True)
        farthest = max(
            f.location.transform(UTM, clone=True).distance(route_utm) / 1000 for f in fresh
        )
        if farthest > (plan.max_deviation_km or 0):
            plan.max_deviation_km = round(farthest, 3)
            plan.save(update_fields=["max_deviation_km"])
    return {
        "stored": len(fresh),
        "already_stored": len(known),
        "max_deviation_km": plan.max_deviation_km,
        "deviation_flagged": plan.flagged_deviation,
        "threshold_km": settings.PATROL_DEVIATION_KM,
    }


@transaction.atomic
def movement_restriction_record(
    *, plan: PatrolPlan, by: User, category: str, actor: str, occurred_at: datetime,
    location: Point, duration_minutes: int | None = None, reason_given: str = "",
    turned_back: bool = False, description: str = "",
) -> MovementRestriction:  # fmt: skip
    """Record what stopped or slowed the patrol (feeds the daily summary)."""
    require_on_patrol(plan, by)
    if plan.status not in (PatrolPlan.Status.UNDER_WAY, PatrolPlan.Status.COMPLETED,
                           PatrolPlan.Status.ABORTED):  # fmt: skip
        raise ValidationError({"plan": ["Restrictions are recorded for a patrol that set out."]})
    if occurred_at > timezone.now():
        raise ValidationError({"occurred_at": ["The time cannot be in the future."]})
    location = geometry_checked(location, kinds=("Point",), field="location")
    restriction = MovementRestriction(
        plan=plan, category=category, actor=actor, occurred_at=occurred_at, location=location,
        location_phrase=geo.describe_location(location)[:160], duration_minutes=duration_minutes,
        reason_given=reason_given, turned_back=turned_back, description=description,
        recorded_by=by,
    )  # fmt: skip
    restriction.full_clean()
    restriction.save()
    return restriction

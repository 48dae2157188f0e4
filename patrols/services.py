"""Write use-cases for patrol plans.

Only creation exists so far (what the demo data needs); submission, approval, notification
to the parties and execution build on it.
"""

from datetime import datetime

from django.contrib.gis.geos import LineString
from django.db import transaction

from core.models import ForwardBase, Province, User
from patrols.models import PatrolPlan


def _sectors_along(route: LineString | None):
    if route is None:
        return Province.objects.none()
    # Twelve provinces of a few hundred vertices each: a plain intersects is cheap enough.
    return Province.objects.filter(is_sector=True, geom__intersects=route)


@transaction.atomic
def patrol_plan_create(
    *,
    forward_base: ForwardBase,
    team_leader: User,
    purpose: str,
    planned_departure: datetime,
    planned_return: datetime,
    route: LineString | None = None,
    status: str = PatrolPlan.Status.DRAFT,
) -> PatrolPlan:
    """Create a patrol plan and record the sectors its itinerary passes through.

    Preconditions: the return is after the departure; `route`, when given, is a LineString
    in SRID 4326 (a route in another SRID is transformed). Nothing is checked against
    restricted zones or the team leader's role yet: approval will do that.

    Effects: one PatrolPlan row whose `sectors` are the mission sectors (border provinces)
    the route intersects (none without a route); the audit trail records the plan and its
    sectors. Raises ValidationError naming the field when the plan is invalid.
    """
    if route is not None and route.srid not in (None, 4326):
        route = route.transform(4326, clone=True)
    elif route is not None and route.srid is None:
        route = LineString(route.coords, srid=4326)
    plan = PatrolPlan(
        forward_base=forward_base,
        team_leader=team_leader,
        purpose=purpose,
        planned_departure=planned_departure,
        planned_return=planned_return,
        route=route,
        status=status,
    )
    plan.full_clean()
    plan.save()
    sectors = list(_sectors_along(route))
    if sectors:
        plan.sectors.set(sectors)
    return plan

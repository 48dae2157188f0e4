"""Patrol factories: plans made by the services (so sectors and nearby settlements are derived
from the route, as in use), taken along their life by the services too, and the itinerary
versions and notifications a document or a sending test starts from.

    PatrolPlanFactory(team_leader=leader, monitors=[monitor])        # a draft, ten days ahead
    PatrolPlanFactory(submitted=True, ...)                           # submitted by its author
    PatrolPlanFactory(approved=True, approver=coordinator, ...)      # needs the parties'
                                                                     # recipients (fixture)
    ItineraryNotificationFactory(version=ItineraryVersionFactory(plan=plan), party=armenia)
"""

from datetime import timedelta

import factory
from django.contrib.gis.geos import LineString, Point
from django.utils import timezone

from core.models import ForwardBase
from core.tests.factories import UserFactory
from liaison.tests.factories import PartyFactory
from patrols.models import ItineraryNotification, ItineraryVersion, PatrolPlan
from patrols.services import safety
from patrols.services.approval import content_checksum, itinerary_content, patrol_plan_approve
from patrols.services.plans import VehicleSpec, WaypointSpec, patrol_plan_create, patrol_plan_submit

# South from Jermuk along the road towards the Vorotan valley, inside Vayots Dzor (the same
# route as conftest.JERMUK_SOUTH, which imports it from here).
JERMUK_SOUTH = LineString((45.66949, 39.84168), (45.6800, 39.8100), (45.6900, 39.7800), srid=4326)
Status = PatrolPlan.Status


def _two_waypoints(plan):
    """The start and the far end of the route, at departure and two hours later."""
    return [
        WaypointSpec("Jermuk base", Point(plan.route.coords[0], srid=4326), plan.planned_departure),
        WaypointSpec(
            "Turning point",
            Point(plan.route.coords[-1], srid=4326),
            plan.planned_departure + timedelta(hours=2),
        ),
    ]


class PatrolPlanFactory(factory.Factory):
    """A plan through patrols.services.patrol_plan_create; `advance_to` (or the traits
    `submitted`, `approved`) moves it on through the services as its planner and `approver`.
    Approving accepts every warning the checks find unless `accept_warnings` is given."""

    class Meta:
        model = PatrolPlan
        strategy = factory.CREATE_STRATEGY

    class Params:
        days_ahead = 10
        hours = 6
        submitted = factory.Trait(advance_to=Status.SUBMITTED)
        approved = factory.Trait(advance_to=Status.APPROVED)

    forward_base = factory.LazyFunction(lambda: ForwardBase.objects.get(name="Jermuk"))
    team_leader = factory.SubFactory(
        UserFactory,
        username="t-jermuk-leader",
        roles=["team_leader"],
        forward_base=factory.SelfAttribute("..forward_base"),
    )
    author = factory.SelfAttribute("team_leader")
    purpose = "Monitoring patrol south of Jermuk"
    planned_departure = factory.LazyAttribute(
        lambda o: (timezone.now() + timedelta(days=o.days_ahead)).replace(microsecond=0)
    )
    planned_return = factory.LazyAttribute(lambda o: o.planned_departure + timedelta(hours=o.hours))
    route = factory.LazyFunction(JERMUK_SOUTH.clone)
    vehicles = factory.LazyFunction(lambda: [VehicleSpec("EU-JRM-11", "EU 011 AM")])
    monitors = factory.LazyFunction(list)
    waypoints = factory.LazyAttribute(_two_waypoints)
    advance_to = Status.DRAFT
    approver = None
    accept_warnings = None

    @classmethod
    def _create(cls, model_class, *, advance_to, approver, accept_warnings, **fields):
        plan = patrol_plan_create(**fields)
        if advance_to == Status.DRAFT:
            return plan
        patrol_plan_submit(plan=plan, by=plan.author or plan.team_leader)
        if advance_to == Status.APPROVED:
            if accept_warnings is None:
                findings = safety.itinerary_check(plan)
                accept_warnings = [f.code for f in findings if f.severity == safety.WARNING]
            approver = approver or UserFactory(
                username="t-coordinator", roles=["coordinator"], forward_base=None
            )
            patrol_plan_approve(plan=plan, by=approver, accept_warnings=accept_warnings)
        elif advance_to != Status.SUBMITTED:
            raise ValueError(f"PatrolPlanFactory does not take a plan to {advance_to!r}.")
        plan.refresh_from_db()
        return plan


class ItineraryVersionFactory(factory.django.DjangoModelFactory):
    """A version recorded as approved (no notification queued): its content frozen from the
    plan as approval freezes it, with its checksum."""

    class Meta:
        model = ItineraryVersion

    plan = factory.SubFactory(PatrolPlanFactory)
    number = 1
    content = factory.LazyAttribute(lambda o: itinerary_content(o.plan, o.number))
    content_sha256 = factory.LazyAttribute(lambda o: content_checksum(o.content))
    approved_by = factory.SubFactory(UserFactory, username="t-coordinator", roles=["coordinator"])
    approved_at = factory.LazyFunction(timezone.now)


class ItineraryNotificationFactory(factory.django.DjangoModelFactory):
    """One party's notification of a version, queued, to the given e-mail channel ids."""

    class Meta:
        model = ItineraryNotification

    version = factory.SubFactory(ItineraryVersionFactory)
    party = factory.SubFactory(PartyFactory)
    purpose = ItineraryNotification.Purpose.ITINERARY
    recipients = factory.LazyFunction(list)

"""Safety checks on real geography, on submission and again on approval."""

from datetime import timedelta

import pytest
from django.contrib.gis.geos import LineString
from django.core.exceptions import ValidationError
from django.utils import timezone

from core.models import RestrictedZone
from patrols.models import ItineraryNotification, PatrolPlan
from patrols.services import patrol_plan_approve, patrol_plan_submit
from patrols.services.safety import itinerary_check
from patrols.tests.conftest import JERMUK_MINEFIELD, SOTK_ROAD

pytestmark = pytest.mark.django_db


@pytest.fixture
def minefield(team):
    now = timezone.now()
    return RestrictedZone.objects.create(
        name="Minefield on the Jermuk road", reason=RestrictedZone.Reason.MINES,
        geom=JERMUK_MINEFIELD, valid_from=now - timedelta(days=1),
        valid_until=now + timedelta(days=60), created_by=team["coordinator"],
    )  # fmt: skip


def codes(findings):
    return {f.code: f.severity for f in findings}


def test_a_route_through_a_restricted_zone_near_jermuk_is_refused_naming_the_zone(
    make_plan, team, minefield
):
    plan = make_plan()
    with pytest.raises(ValidationError) as info:
        patrol_plan_submit(plan=plan, by=team["leader"])
    assert info.value.message_dict["route"] == [
        "The route crosses the restricted zone «Minefield on the Jermuk road» "
        "(mines or unexploded ordnance)."
    ]
    plan.refresh_from_db()
    assert plan.status == PatrolPlan.Status.DRAFT


def test_a_zone_that_ends_before_departure_or_starts_after_return_does_not_block(
    make_plan, team, minefield
):
    plan = make_plan()
    minefield.valid_until = plan.planned_departure - timedelta(minutes=1)
    minefield.save()
    assert "restricted_zone" not in codes(itinerary_check(plan))
    minefield.valid_from = plan.planned_return + timedelta(minutes=1)
    minefield.valid_until = None
    minefield.save()
    assert "restricted_zone" not in codes(itinerary_check(plan))
    minefield.valid_from = plan.planned_return - timedelta(hours=1)
    minefield.save()
    assert codes(itinerary_check(plan))["restricted_zone"] == "blocking"


def test_a_zone_created_after_submission_blocks_the_approval(make_plan, team, recipients):
    plan = make_plan()
    patrol_plan_submit(plan=plan, by=team["leader"])
    RestrictedZone.objects.create(
        name="New military works", reason=RestrictedZone.Reason.MILITARY,
        geom=JERMUK_MINEFIELD, valid_from=timezone.now(),
    )  # fmt: skip
    with pytest.raises(ValidationError, match="New military works"):
        patrol_plan_approve(plan=plan, by=team["coordinator"])
    assert not ItineraryNotification.objects.exists()


def test_a_route_leaving_the_mission_area_is_refused(make_plan, team):
    # From Jermuk north-west into Kotayk, which is not a mission sector.
    plan = make_plan(route=LineString((45.66949, 39.84168), (44.7, 40.35), srid=4326))
    with pytest.raises(ValidationError, match="leave the mission area"):
        patrol_plan_submit(plan=plan, by=team["leader"])


def test_the_sotk_road_within_1_km_of_the_border_needs_the_warning_accepted(
    make_plan, team, recipients
):
    plan = make_plan(route=SOTK_ROAD)
    findings = patrol_plan_submit(plan=plan, by=team["leader"])
    near = next(f for f in findings if f.code == "near_border")
    assert near.severity == "warning" and "within 1 km of the border" in near.message
    assert "Sotk" in near.message
    assert near.geometry["type"] in ("LineString", "MultiLineString")

    with pytest.raises(ValidationError) as info:
        patrol_plan_approve(plan=plan, by=team["coordinator"])
    assert "accept_warnings" in info.value.message_dict
    version = patrol_plan_approve(plan=plan, by=team["coordinator"],
                                  accept_warnings=["near_border"])  # fmt: skip
    # The acceptance is recorded with the version: who approved it accepted this warning.
    assert [w["code"] for w in version.accepted_warnings] == ["near_border"]
    assert version.approved_by == team["coordinator"]


def test_the_border_distance_is_configurable(make_plan, settings):
    plan = make_plan(route=SOTK_ROAD)
    settings.PATROL_BORDER_WARNING_KM = 0.3
    assert "near_border" not in codes(itinerary_check(plan))
    settings.PATROL_BORDER_WARNING_KM = 1.0
    assert "near_border" in codes(itinerary_check(plan))


def test_an_approved_patrol_in_the_same_area_at_the_same_time_is_a_warning(
    make_plan, team, recipients
):
    first = make_plan()
    patrol_plan_submit(plan=first, by=team["leader"])
    patrol_plan_approve(plan=first, by=team["coordinator"])
    second = make_plan()
    findings = codes(patrol_plan_submit(plan=second, by=team["leader"]))
    assert findings["overlap"] == "warning"
    next_day = make_plan(days_ahead=12)
    assert "overlap" not in codes(itinerary_check(next_day))


def test_a_departure_inside_the_notice_period_needs_an_urgent_override(make_plan, team, recipients):
    plan = make_plan(days_ahead=2)
    findings = codes(patrol_plan_submit(plan=plan, by=team["leader"]))
    assert findings["short_notice"] == "override"
    with pytest.raises(ValidationError) as info:
        patrol_plan_approve(plan=plan, by=team["coordinator"])
    assert "urgent_justification" in info.value.message_dict
    patrol_plan_approve(plan=plan, by=team["coordinator"],
                        urgent_justification="Shelling reported at Jermuk last night.")  # fmt: skip
    plan.refresh_from_db()
    assert plan.urgent_override is True
    assert plan.override_justification == "Shelling reported at Jermuk last night."


def test_the_notice_period_is_configurable(make_plan, settings):
    plan = make_plan(days_ahead=4)
    assert "short_notice" in codes(itinerary_check(plan))
    settings.PATROL_NOTICE_DAYS = 3
    assert "short_notice" not in codes(itinerary_check(plan))


def test_a_plan_without_a_route_cannot_be_submitted(make_plan, team):
    plan = make_plan()
    PatrolPlan.objects.filter(pk=plan.pk).update(route=None)
    plan.refresh_from_db()
    with pytest.raises(ValidationError, match="no route"):
        patrol_plan_submit(plan=plan, by=team["leader"])

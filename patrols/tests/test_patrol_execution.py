"""On the way: idempotent track upload, deviation flag, movement restrictions."""

import uuid
from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from patrols.models import ItineraryNotification, MovementRestriction, TrackPoint
from patrols.services import patrol_plan_approve, patrol_plan_submit, patrol_start
from patrols.services.execution import TrackFix, movement_restriction_record, track_upload
from patrols.services.notifications import notification_send

pytestmark = pytest.mark.django_db


@pytest.fixture
def under_way(make_plan, team, recipients):
    plan = make_plan()
    patrol_plan_submit(plan=plan, by=team["leader"])
    patrol_plan_approve(plan=plan, by=team["coordinator"])
    for n in ItineraryNotification.objects.filter(version__plan=plan):
        notification_send(notification_id=n.pk, claim="t")
    patrol_start(plan=plan, by=team["leader"])
    plan.refresh_from_db()
    return plan


def fixes(*coords):
    now = timezone.now()
    return [
        TrackFix(uuid.uuid5(uuid.NAMESPACE_URL, f"fix-{x}-{y}"), now - timedelta(minutes=i),
                 Point(x, y, srid=4326))
        for i, (x, y) in enumerate(coords)
    ]  # fmt: skip


def test_a_resent_track_is_stored_once(under_way, team):
    points = fixes((45.6700, 39.8400), (45.6790, 39.8120))
    first = track_upload(plan=under_way, by=team["leader"], fixes=points)
    again = track_upload(plan=under_way, by=team["leader"], fixes=points)
    assert (first["stored"], again["stored"], again["already_stored"]) == (2, 0, 2)
    assert TrackPoint.objects.filter(plan=under_way).count() == 2
    assert first["deviation_flagged"] is False


def test_a_fix_repeated_within_one_upload_is_counted_and_stored_once(under_way, team):
    [point] = fixes((45.6700, 39.8400))
    result = track_upload(plan=under_way, by=team["leader"], fixes=[point, point])
    assert result["stored"] == 1
    assert TrackPoint.objects.filter(plan=under_way).count() == 1


def test_a_track_far_from_the_notified_route_is_flagged(under_way, team):
    result = track_upload(plan=under_way, by=team["leader"], fixes=fixes((45.75, 39.81)))
    assert result["max_deviation_km"] > 5 and result["deviation_flagged"] is True
    under_way.refresh_from_db()
    assert under_way.flagged_deviation


def test_only_the_team_leader_uploads_the_track(under_way, team):
    with pytest.raises(PermissionDenied, match="team leader"):
        track_upload(plan=under_way, by=team["monitor"], fixes=fixes((45.67, 39.84)))


def test_a_movement_restriction_is_recorded_with_its_place_in_words(under_way, team):
    restriction = movement_restriction_record(
        plan=under_way, by=team["monitor"], category="denial", actor="armenian_forces",
        occurred_at=timezone.now() - timedelta(minutes=30), location=Point(45.68, 39.81, srid=4326),
        duration_minutes=40, reason_given="Exercise in the area", turned_back=True,
    )  # fmt: skip
    assert restriction.location_phrase.endswith("Vayots Dzor")
    assert MovementRestriction.objects.filter(plan=under_way, turned_back=True).count() == 1


def test_a_restriction_with_an_unknown_category_names_the_field(under_way, team):
    with pytest.raises(ValidationError) as info:
        movement_restriction_record(
            plan=under_way, by=team["monitor"], category="roadblock", actor="police",
            occurred_at=timezone.now(), location=Point(45.68, 39.81, srid=4326),
        )  # fmt: skip
    assert "category" in info.value.message_dict

"""The observer's rule (reports.services.placement): the server's verdicts on the cases the
tablet's offline check is given too (placement_cases.json)."""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from reports.models import IncidentReport
from reports.services.placement import incident_placement
from reports.tests.test_report_filing_api import as_user, report_body

CASES = json.loads((Path(__file__).parent / "placement_cases.json").read_text())["cases"]


def _point(pair):
    return None if pair is None else Point(*pair, srid=4326)


def server_verdict(case) -> dict:
    try:
        placement = incident_placement(
            location=_point(case["location"]), observer_position=_point(case["observer"])
        )
    except ValidationError as refused:
        return {"errors": {name: messages[0] for name, messages in refused.message_dict.items()}}
    return {"sector": placement.sector.name, "across_line": placement.across_line}


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_server_gives_the_verdict_of_each_shared_case(case, settings):
    settings.INCIDENT_MAX_BEYOND_BORDER_KM = 25
    assert server_verdict(case) == case["expect"]


@pytest.mark.django_db
def test_an_incident_seen_across_the_line_is_filed_with_the_observers_sector_and_sight_line(
    users,
):
    body = report_body(
        location={"type": "Point", "coordinates": [46.68, 39.21]},
        observer_position={"type": "Point", "coordinates": [46.58, 39.215]},
        direction_degrees=None,
        estimated_distance_m=None,
    )
    response = as_user(users["monitor"]).post(reverse("api-incident-reports"), body, format="json")
    assert response.status_code == 201, response.json()
    report = IncidentReport.objects.get(uuid=body["uuid"])
    assert report.across_line is True
    assert report.sector.name == "Syunik"
    # Measured from the two points: about 8.6 km, about east.
    assert 90 <= report.direction_degrees <= 100
    assert 8_400 <= report.estimated_distance_m <= 8_800
    assert report.location_phrase.startswith("across the line, about ")
    assert report.location_phrase.endswith("of Zangilan (Azerbaijan)")
    out = response.json()
    assert out["across_line"] is True and out["reference"] == report.reference
    # A resend of the same body (direction and distance still left out) is the same report.
    again = as_user(users["monitor"]).post(reverse("api-incident-reports"), body, format="json")
    assert again.status_code == 200, again.json()
    assert IncidentReport.objects.count() == 1


@pytest.mark.django_db
def test_what_the_monitor_typed_for_direction_and_distance_is_kept(users):
    body = report_body(
        location={"type": "Point", "coordinates": [46.68, 39.21]},
        observer_position={"type": "Point", "coordinates": [46.58, 39.215]},
        direction_degrees=90,
        estimated_distance_m=9000,
    )
    response = as_user(users["monitor"]).post(reverse("api-incident-reports"), body, format="json")
    assert response.status_code == 201, response.json()
    report = IncidentReport.objects.get(uuid=body["uuid"])
    assert (report.direction_degrees, report.estimated_distance_m) == (90, 9000)


@pytest.mark.django_db
def test_moving_the_observer_out_of_the_mission_area_is_refused_on_an_edit(users):
    body = report_body(
        location={"type": "Point", "coordinates": [46.68, 39.21]},
        observer_position={"type": "Point", "coordinates": [46.58, 39.215]},
        observed_at=(timezone.now() - timedelta(hours=2)).isoformat(),
    )
    client = as_user(users["monitor"])
    created = client.post(reverse("api-incident-reports"), body, format="json").json()
    url = reverse("api-incident-report", kwargs={"uuid": body["uuid"]})
    moved = client.patch(
        url,
        {"observer_position": {"type": "Point", "coordinates": [44.77, 40.5]}},
        format="json",
        HTTP_IF_MATCH=f'"{created["version"]}"',
    )
    assert moved.status_code == 400, moved.json()
    assert "observer must stand" in moved.json()["errors"]["observer_position"][0]
    assert IncidentReport.objects.get(uuid=body["uuid"]).observer_position.x == 46.58


@pytest.mark.django_db
def test_moving_a_point_measures_the_line_of_sight_again(users):
    body = report_body(
        location={"type": "Point", "coordinates": [46.68, 39.21]},
        observer_position={"type": "Point", "coordinates": [46.58, 39.215]},
        direction_degrees=None,
        estimated_distance_m=None,
    )
    client = as_user(users["monitor"])
    created = client.post(reverse("api-incident-reports"), body, format="json").json()
    url = reverse("api-incident-report", kwargs={"uuid": body["uuid"]})
    moved = client.patch(
        url,
        {"observer_position": {"type": "Point", "coordinates": [46.55, 39.25]}},
        format="json",
        HTTP_IF_MATCH=f'"{created["version"]}"',
    )
    assert moved.status_code == 200, moved.json()
    report = IncidentReport.objects.get(uuid=body["uuid"])
    # From the new position the incident lies east-south-east, about 12 km away.
    assert 100 <= report.direction_degrees <= 125
    assert 10_500 <= report.estimated_distance_m <= 13_500
    inside = {"type": "Point", "coordinates": [46.46, 39.21]}
    gone = client.patch(
        url, {"observer_position": None, "location": inside},
        format="json", HTTP_IF_MATCH=f'"{report.version}"',
    )  # fmt: skip
    assert gone.status_code == 200, gone.json()
    report.refresh_from_db()
    assert (report.direction_degrees, report.estimated_distance_m) == (None, None)

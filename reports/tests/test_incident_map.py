"""The duty officers' map: incidents clustered on the server by zoom, inside the bbox asked,
with the list's filters and visibility rules, in a bounded number of queries."""

import random
from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point
from django.urls import reverse
from django.utils import timezone

from core.models import ForwardBase
from core.tests.factories import UserFactory
from reports.models import IncidentReport
from reports.tests.factories import IncidentReportFactory
from reports.tests.test_report_filing_api import as_user

KORNIDZOR = (46.5311, 39.5481)
JERMUK = (45.66949, 39.84168)
GORIS = (46.3379, 39.5087)
KAPAN = (46.4055, 39.2076)
SISIAN = (46.0322, 39.5208)
MISSION_AREA = "43.4,38.8,46.7,41.3"


def file_near(author, centre, n, *, severity=2, spread=0.01, days_ago=0, status="submitted"):
    rnd = random.Random(n * 7 + severity)
    made = []
    for _ in range(n):
        where = Point(centre[0] + rnd.uniform(-spread, spread),
                      centre[1] + rnd.uniform(-spread, spread), srid=4326)  # fmt: skip
        made.append(IncidentReportFactory(
            author=author, observed_at=timezone.now() - timedelta(days=days_ago, hours=1),
            location=where, category=IncidentReport.Category.SHELLING, severity=severity,
            description="Explosions heard.", status=status,
        ))  # fmt: skip
    return made


def get_map(user, **params):
    return as_user(user).get(reverse("api-incident-map"), params)


@pytest.fixture
def incidents(users):
    kapan = ForwardBase.objects.get(name="Kapan")
    monitor = users["monitor"]
    monitor.forward_base = kapan
    monitor.save()
    return {
        "kornidzor": file_near(monitor, KORNIDZOR, 12, severity=2)
        + file_near(monitor, KORNIDZOR, 3, severity=4),
        "jermuk": file_near(monitor, JERMUK, 5, severity=1, days_ago=10),
        "draft": file_near(monitor, JERMUK, 2, status="draft"),
    }


@pytest.mark.django_db
def test_the_whole_mission_area_comes_as_a_few_clusters_with_their_counts(users, incidents):
    body = get_map(users["duty_officer"], bbox=MISSION_AREA, zoom=7).json()
    assert body["total"] == 20  # drafts are nobody's but their author's
    clusters = [f["properties"] for f in body["features"]]
    assert all(c["cluster"] for c in clusters)
    by_count = sorted((c["count"], c["max_severity"]) for c in clusters)
    assert by_count == [(5, 1), (15, 4)]
    kornidzor = next(c for c in clusters if c["count"] == 15)
    west, south, east, north = kornidzor["bbox"]
    assert west >= KORNIDZOR[0] - 0.011 and east <= KORNIDZOR[0] + 0.011
    assert south >= KORNIDZOR[1] - 0.011 and north <= KORNIDZOR[1] + 0.011


@pytest.mark.django_db
def test_zoomed_in_a_lone_incident_comes_as_itself_with_a_link(users, incidents):
    bbox = f"{JERMUK[0] - 0.02},{JERMUK[1] - 0.02},{JERMUK[0] + 0.02},{JERMUK[1] + 0.02}"
    body = get_map(users["duty_officer"], bbox=bbox, zoom=16).json()
    assert body["total"] == 5
    singles = [f for f in body["features"] if not f["properties"]["cluster"]]
    assert len(singles) == 5
    uuids = {str(r.uuid) for r in incidents["jermuk"]}
    assert {f["properties"]["uuid"] for f in singles} == uuids
    one = singles[0]["properties"]
    assert one["url"] == reverse("incident-detail", args=[one["uuid"]])
    assert one["location_phrase"] and one["sector"] == "Vayots Dzor"


@pytest.mark.django_db
def test_the_map_takes_the_lists_filters(users, incidents):
    officer = users["duty_officer"]
    assert get_map(officer, bbox=MISSION_AREA, zoom=7, severity_min=4).json()["total"] == 3
    today = timezone.localdate()
    week = get_map(officer, bbox=MISSION_AREA, zoom=7, date_from=today - timedelta(days=7),
                   date_to=today).json()  # fmt: skip
    assert week["total"] == 15
    assert get_map(officer, bbox=MISSION_AREA, zoom=7, sector="Vayots Dzor").json()["total"] == 5


@pytest.mark.django_db
def test_the_answer_stays_small_and_costs_the_same_queries_however_many_incidents(
    users, incidents, django_assert_max_num_queries
):
    officer = users["duty_officer"]
    # The user's roles, the clusters, the lone incidents (when there are any).
    syunik = "45.9,39.1,46.8,39.9"
    with django_assert_max_num_queries(3):
        get_map(officer, bbox=syunik, zoom=11)
    file_near(users["monitor"], SISIAN, 150, spread=0.05)
    file_near(users["monitor"], KAPAN, 1)
    file_near(users["monitor"], GORIS, 1)
    with django_assert_max_num_queries(3):
        body = get_map(officer, bbox=syunik, zoom=11).json()
    assert body["total"] == 15 + 150 + 2
    lone = [f for f in body["features"] if not f["properties"]["cluster"]]
    assert len(lone) >= 2
    assert len(body["features"]) < 40


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"zoom": 7}, "bbox", "required"),
        ({"bbox": MISSION_AREA}, "zoom", "required"),
        ({"bbox": "46.7,38.8,43.4,41.3", "zoom": 7}, "bbox", "West must be less than east"),
        ({"bbox": "north,south", "zoom": 7}, "bbox", "four numbers"),
        ({"bbox": "-180,-80,180,80", "zoom": 12}, "bbox", "Too large an area for zoom 12"),
        ({"bbox": MISSION_AREA, "zoom": 7, "date_from": "2026-13-01"}, "date_from", "valid date"),
    ],
)
def test_a_bad_request_is_refused_naming_the_parameter(users, params, field, words):
    response = get_map(users["duty_officer"], **params)
    assert response.status_code == 400
    assert words in " ".join(response.json()["errors"][field])


@pytest.mark.django_db
def test_the_map_shows_only_what_the_user_may_see(users, incidents):
    goris = ForwardBase.objects.get(name="Goris")
    elsewhere = UserFactory(username="t-goris", roles=["monitor"], forward_base=goris)
    assert get_map(elsewhere, bbox=MISSION_AREA, zoom=7).json()["total"] == 0
    # Their own base's submitted reports, and their own drafts.
    assert get_map(users["monitor"], bbox=MISSION_AREA, zoom=7).json()["total"] == 22
    for role in ("liaison_officer", "outsider"):
        assert get_map(users[role], bbox=MISSION_AREA, zoom=7).status_code == 403

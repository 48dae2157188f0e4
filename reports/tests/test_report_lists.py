"""Lists with filters, GeoJSON for the map (bbox), CSV export, review through the API."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from reports.models import IncidentReport
from reports.tests.test_report_filing_api import as_user, report_body

KORNIDZOR = [46.5311, 39.5481]
JERMUK = [45.66949, 39.84168]


@pytest.fixture
def reports(users):
    client = as_user(users["monitor"])
    made = []
    for i, (where, category, severity) in enumerate([
        (KORNIDZOR, "small_arms", 2), (KORNIDZOR, "shelling", 4), (JERMUK, "fortification", 1),
    ]):  # fmt: skip
        when = (timezone.now() - timedelta(days=i)).isoformat()
        body = report_body(location={"type": "Point", "coordinates": where}, category=category,
                           severity=severity, status="submitted", observed_at=when)  # fmt: skip
        client.post(reverse("api-incident-reports"), body, format="json")
        made.append(body["uuid"])
    return made


@pytest.mark.django_db
def test_the_list_filters_by_sector_severity_and_time(users, reports):
    client = as_user(users["duty_officer"])

    def uuids(**params):
        return {r["uuid"] for r in client.get(reverse("api-incident-reports"), params).json()
                ["results"]}  # fmt: skip

    assert uuids(sector="syunik") == set(reports[:2])
    assert uuids(severity_min=4) == {reports[1]}
    since = (timezone.now() - timedelta(hours=12)).isoformat()
    assert uuids(observed_from=since) == {reports[0]}


@pytest.mark.django_db
def test_the_map_asks_by_bbox_and_gets_geojson(users, reports, django_assert_max_num_queries):
    client = as_user(users["duty_officer"])
    with django_assert_max_num_queries(6):
        response = client.get(reverse("api-incident-reports-geojson"),
                              {"bbox": "46.4,39.4,46.7,39.7"})  # fmt: skip
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert {f["id"] for f in body["features"]} == set(reports[:2])
    bad = client.get(reverse("api-incident-reports-geojson"), {"bbox": "north"})
    assert bad.status_code == 400 and "bbox" in bad.json()["errors"]


@pytest.mark.django_db
def test_the_csv_export_has_one_row_per_report(users, reports):
    response = as_user(users["duty_officer"]).get(reverse("api-incident-reports-csv"),
                                                  {"sector": "Syunik"})  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {r["uuid"] for r in rows} == set(reports[:2])
    assert rows[0]["admin1"] == "Syunik" and rows[0]["location"] == "in Kornidzor, Syunik"
    by_uuid = {r["uuid"]: r for r in rows}
    shelling, small_arms = by_uuid[reports[1]], by_uuid[reports[0]]
    assert (shelling["event_type"], shelling["sub_event_type"]) == (
        "Explosions/Remote violence", "Shelling/artillery/missile attack")  # fmt: skip
    assert (small_arms["event_type"], small_arms["sub_event_type"]) == ("Battles", "Armed clash")


def test_every_category_maps_to_an_acled_event_type_and_sub_event_type():
    acled_types = {"Battles", "Violence against civilians", "Explosions/Remote violence",
                   "Riots", "Protests", "Strategic developments"}  # fmt: skip
    assert set(IncidentReport.ACLED_TYPES) == set(IncidentReport.Category)
    assert {event for event, _ in IncidentReport.ACLED_TYPES.values()} <= acled_types


@pytest.mark.django_db
def test_review_and_verification_through_the_api(users, reports):
    officer = as_user(users["duty_officer"])
    url = reverse("api-incident-report-review", args=[reports[0]])
    missing = officer.post(url, {"decision": "returned"}, format="json")
    assert missing.status_code == 400 and "questions" in missing.json()["errors"]
    returned = officer.post(url, {"decision": "returned", "questions": "From which direction?"},
                            format="json")  # fmt: skip
    assert returned.json()["status"] == "returned"
    # The monitor sees the question on their report.
    mine = as_user(users["monitor"]).get(reverse("api-incident-report", args=[reports[0]]))
    assert mine.status_code == 200
    assert IncidentReport.objects.get(uuid=reports[0]).review_questions == "From which direction?"
    refused = as_user(users["monitor"]).post(
        reverse("api-incident-report-verify", args=[reports[1]]),
        {"level": "verified", "note": "I saw it"}, format="json",
    )  # fmt: skip
    assert refused.status_code == 403

"""The contract the tablet relies on: exactly-once filing by UUID, 409 on a different
content, ETag/If-Match on edits, amendments that keep the history."""

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connections
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from reports.models import IncidentReport, ReportRevision


def as_user(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def report_body(**changes):
    body = {
        "uuid": str(uuid.uuid4()),
        "observed_at": (timezone.now() - timedelta(hours=2)).replace(microsecond=0).isoformat(),
        "time_precision": "approximate",
        "location": {"type": "Point", "coordinates": [46.5311, 39.5481]},
        "observer_position": {"type": "Point", "coordinates": [46.52, 39.55]},
        "direction_degrees": 95,
        "estimated_distance_m": 1200,
        "observation_means": "heard",
        "category": "small_arms",
        "severity": 2,
        "description": "About 12 bursts of small-arms fire heard to the east.",
        "bursts": 12,
    }
    body.update(changes)
    return body


@pytest.mark.django_db
def test_a_new_report_is_filed_with_its_derived_place(users):
    body = report_body()
    response = as_user(users["monitor"]).post(reverse("api-incident-reports"), body, format="json")
    assert response.status_code == 201
    data = response.json()
    assert data["uuid"] == body["uuid"] and data["sector"] == "Syunik"
    assert data["location_phrase"] == "in Kornidzor, Syunik"
    assert response["ETag"] == '"1"'


@pytest.mark.django_db
def test_a_resend_returns_the_stored_report_and_files_nothing_new(users):
    client, body = as_user(users["monitor"]), report_body()
    first = client.post(reverse("api-incident-reports"), body, format="json")
    again = client.post(reverse("api-incident-reports"), body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["uuid"] == body["uuid"]
    assert IncidentReport.objects.filter(uuid=body["uuid"]).count() == 1


@pytest.mark.django_db
def test_the_same_uuid_with_different_content_is_a_conflict_naming_the_fields(users):
    client, body = as_user(users["monitor"]), report_body()
    client.post(reverse("api-incident-reports"), body, format="json")
    changed = {**body, "severity": 4, "description": "Something else"}
    response = client.post(reverse("api-incident-reports"), changed, format="json")
    assert response.status_code == 409
    assert set(response.json()["errors"]) == {"severity", "description"}
    assert response.json()["uuid"] == body["uuid"]
    assert IncidentReport.objects.get(uuid=body["uuid"]).severity == 2


@pytest.mark.django_db
def test_someone_elses_uuid_is_refused(users):
    body = report_body()
    as_user(users["monitor"]).post(reverse("api-incident-reports"), body, format="json")
    response = as_user(users["team_leader"]).post(reverse("api-incident-reports"), body,
                                                  format="json")  # fmt: skip
    assert response.status_code == 400 and "uuid" in response.json()["errors"]


@pytest.mark.django_db
def test_a_place_outside_the_mission_area_is_refused_naming_the_field(users):
    body = report_body(location={"type": "Point", "coordinates": [44.793, 41.715]})
    response = as_user(users["monitor"]).post(reverse("api-incident-reports"), body, format="json")
    assert response.status_code == 400
    assert "outside the mission area" in response.json()["errors"]["location"][0]
    assert not IncidentReport.objects.exists()


@pytest.mark.django_db
def test_roles_that_do_not_file_reports_are_refused(users):
    for role in ("headquarters", "liaison_officer", "outsider"):
        response = as_user(users[role]).post(reverse("api-incident-reports"), report_body(),
                                             format="json")  # fmt: skip
        assert response.status_code == 403, role


@pytest.mark.django_db(transaction=True)
def test_fifty_identical_posts_in_parallel_make_one_row(users):
    body = report_body()
    codes, barrier = [], threading.Barrier(50)

    def post():
        try:
            barrier.wait()
            response = as_user(users["monitor"]).post(reverse("api-incident-reports"), body,
                                                      format="json")  # fmt: skip
            codes.append(response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert IncidentReport.objects.filter(uuid=body["uuid"]).count() == 1
    assert sorted(codes) == [200] * 49 + [201]


@pytest.mark.django_db
def test_an_edit_needs_the_etag_it_was_made_on(users):
    client, body = as_user(users["monitor"]), report_body()
    client.post(reverse("api-incident-reports"), body, format="json")
    url = reverse("api-incident-report", args=[body["uuid"]])
    read = client.get(url)
    assert read["ETag"] == '"1"'
    assert client.get(url, HTTP_IF_NONE_MATCH='"1"').status_code == 304

    missing = client.patch(url, {"severity": 3}, format="json")
    assert missing.status_code == 428
    ok = client.patch(url, {"severity": 3}, format="json", HTTP_IF_MATCH='"1"')
    assert ok.status_code == 200 and ok["ETag"] == '"2"' and ok.json()["severity"] == 3
    stale = client.patch(url, {"severity": 5}, format="json", HTTP_IF_MATCH='"1"')
    assert stale.status_code == 412 and stale["ETag"] == '"2"'
    assert IncidentReport.objects.get(uuid=body["uuid"]).severity == 3


@pytest.mark.django_db
def test_a_submitted_report_is_amended_and_its_history_kept(users):
    client, body = as_user(users["monitor"]), report_body(status="submitted")
    filed = client.post(reverse("api-incident-reports"), body, format="json")
    assert filed.json()["status"] == "submitted"
    url = reverse("api-incident-report", args=[body["uuid"]])
    amended = client.patch(url, {"bursts": 14, "reason": "Recounted with the second monitor"},
                           format="json", HTTP_IF_MATCH='"1"')  # fmt: skip
    assert amended.status_code == 200 and amended.json()["bursts"] == 14
    revision = ReportRevision.objects.get(report__uuid=body["uuid"])
    assert (revision.version, revision.content["bursts"]) == (1, 12)
    assert revision.reason == "Recounted with the second monitor"


@pytest.mark.django_db
def test_submitting_twice_changes_nothing_the_second_time(users):
    client, body = as_user(users["monitor"]), report_body()
    client.post(reverse("api-incident-reports"), body, format="json")
    url = reverse("api-incident-report-submit", args=[body["uuid"]])
    first, again = client.post(url), client.post(url)
    assert first.json()["status"] == again.json()["status"] == "submitted"
    assert first["ETag"] == again["ETag"] == '"2"'


@pytest.mark.django_db
def test_between_needs_an_end_after_the_start(users):
    body = report_body(time_precision="between")
    response = as_user(users["monitor"]).post(reverse("api-incident-reports"), body, format="json")
    assert response.status_code == 400
    assert "end of the time window" in response.json()["detail"]


@pytest.mark.django_db
def test_hostile_bodies_get_a_400_naming_the_problem_and_store_nothing(users):
    client = as_user(users["monitor"])
    url = reverse("api-incident-reports")
    with_height = report_body(location={"type": "Point", "coordinates": [46.5311, 39.5481, 100]})
    response = client.post(url, with_height, format="json")
    assert response.status_code == 400 and "location" in response.json()["errors"]
    observer = report_body(observer_position={"type": "Point", "coordinates": [46.5, 39.5, 9]})
    response = client.post(url, observer, format="json")
    assert response.status_code == 400 and "observer_position" in response.json()["errors"]
    nested = "[" * 100_000
    response = client.generic("POST", url, nested, content_type="application/json")
    assert response.status_code == 400 and "nested too deeply" in response.json()["detail"]
    assert not IncidentReport.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "geometry", "reason"),
    [
        # 1e300 once aborted the web process inside SpatiaLite: refused before it gets there.
        ("location", {"type": "Point", "coordinates": [1e308, 1e308]}, "longitude must lie"),
        ("location", {"type": "Point", "coordinates": [46.5, 1e300]}, "latitude must lie"),
        ("location", {"type": "Point", "coordinates": [180.5, 39.5]}, "longitude must lie"),
        ("location", {"type": "Point", "coordinates": [46.5, -90.01]}, "latitude must lie"),
        ("location", {"type": "Point", "coordinates": [10**400, 39.5]}, "longitude must lie"),
        ("location", {"type": "Point", "coordinates": ["46.5", 39.5]}, "must be a number"),
        ("location", {"type": "Point", "coordinates": [True, 39.5]}, "must be a number"),
        ("location", {"type": "Point", "coordinates": [46.5]}, "[longitude, latitude]"),
        ("location", {"type": "Point", "coordinates": "46.5 39.5"}, "[longitude, latitude]"),
        ("location", {"type": "LineString", "coordinates": [[46, 39], [46.1, 39]]}, "Point"),
        ("location", "POINT (1e300 1e300)", "longitude must lie"),
        ("location", "SRID=3857;POINT (5000000 4700000)", "WGS84"),
        ("observer_position", {"type": "Point", "coordinates": [46.5, 91]}, "latitude must"),
    ],
)
def test_a_point_out_of_range_or_malformed_is_refused_naming_the_field(
    users, field, geometry, reason
):
    response = as_user(users["monitor"]).post(
        reverse("api-incident-reports"), report_body(**{field: geometry}), format="json"
    )
    assert response.status_code == 400, response.content
    messages = response.json()["errors"][field]
    assert any(reason in message for message in messages), messages
    assert not IncidentReport.objects.exists()


@pytest.mark.django_db
def test_points_are_given_back_as_they_were_sent(users):
    body = report_body(
        location={"type": "Point", "coordinates": [46.531123, 39.548107]},
        observer_position={"type": "Point", "coordinates": [46.52, 39.55]},
    )
    client = as_user(users["monitor"])
    data = client.post(reverse("api-incident-reports"), body, format="json").json()
    assert data["location"] == {"type": "Point", "coordinates": [46.531123, 39.548107]}
    assert data["observer_position"] == {"type": "Point", "coordinates": [46.52, 39.55]}
    stored = client.get(reverse("api-incident-report", args=[body["uuid"]])).json()
    assert stored["location"] == data["location"]
    assert stored["observer_position"] == data["observer_position"]
    # WKT is still understood, and read as WGS84.
    wkt = report_body(location="POINT (46.5311 39.5481)", observer_position=None)
    response = client.post(reverse("api-incident-reports"), wkt, format="json")
    assert response.status_code == 201
    assert response.json()["location"]["coordinates"] == [46.5311, 39.5481]
    assert response.json()["observer_position"] is None

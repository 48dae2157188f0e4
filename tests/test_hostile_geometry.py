"""Hostile geometry never breaks the server: a corpus of bad coordinates and shapes, sent to
every API that takes geometry, each answered 400 with the field named, and the web process
still the same process after every request.

A coordinate of 1e300 once aborted the web process inside SpatiaLite ("stack smashing
detected"): in-process tests would die with it, so the corpus goes to a real gunicorn worker
started on the test database, and after each request the test checks that the worker that
answered is still the one that booted (gunicorn replaces a dead worker silently)."""

import json
import re
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.gis.geos import LineString, Point
from django.utils import timezone

from conftest import BASE_DIR, _process_env, free_port, stop_process, wait_for
from core.models import DeviceToken, ForwardBase
from patrols.models import PatrolPlan
from patrols.services import patrol_plan_create
from reports.models import IncidentReport
from tests.test_flare_up_concurrency import Http

pytestmark = pytest.mark.django_db(transaction=True)

JERMUK_ROAD = [[45.66949, 39.84168], [45.68, 39.81], [45.69, 39.78]]

# (what it is, the GeoJSON / text sent as the geometry, words the refusal must contain)
HOSTILE_POINTS = [
    ("1e308 both", {"type": "Point", "coordinates": [1e308, 1e308]}, "longitude must lie"),
    ("1e300 latitude", {"type": "Point", "coordinates": [45.7, 1e300]}, "latitude must lie"),
    ("a 400-digit integer", {"type": "Point", "coordinates": [10**400, 39.8]}, "longitude"),
    ("longitude 180.5", {"type": "Point", "coordinates": [180.5, 39.8]}, "longitude must lie"),
    ("a height", {"type": "Point", "coordinates": [45.7, 39.8, 1500]}, "height"),
    ("a string number", {"type": "Point", "coordinates": ["45.7", 39.8]}, "must be a number"),
    ("one number", {"type": "Point", "coordinates": [45.7]}, "[longitude, latitude]"),
    ("no coordinates", {"type": "Point"}, "[longitude, latitude]"),
    ("a LineString", {"type": "LineString", "coordinates": JERMUK_ROAD}, "Point"),
    ("EPSG:3857 crs", {"type": "Point", "coordinates": [45.7, 39.8],
                       "crs": {"type": "name", "properties": {"name": "EPSG:3857"}}}, "WGS84"),
    ("WKT 1e300", "POINT (1e300 1e300)", "longitude must lie"),
    ("WKT nan", "POINT (nan nan)", "empty"),  # GEOS reads NaN coordinates as empty
    ("WKT empty", "POINT EMPTY", "empty"),
    ("WKT 3-D", "POINT Z (45.7 39.8 1500)", "height"),
    ("WKT measured", "POINT M (45.7 39.8 3)", "height"),
    ("WKT polygon", "POLYGON ((45 39, 46 39, 46 40, 45 39))", "Point"),
    ("EWKT 3857", "SRID=3857;POINT (5087000 4838000)", "EPSG:4326"),
    ("garbage text", "not a geometry at all", "neither GeoJSON nor WKT"),
    ("a number", 12, "GeoJSON Point"),
    ("a list", [45.7, 39.8], "GeoJSON Point"),
]  # fmt: skip

HOSTILE_ROUTES = [
    ("1e300 vertex", {"type": "LineString", "coordinates": [[45.67, 39.84], [1e300, 39.8]]},
     "longitude must lie"),
    ("one point", {"type": "LineString", "coordinates": [[45.67, 39.84]]}, "LineString"),
    ("a repeated point", {"type": "LineString", "coordinates": [[45.67, 39.84]] * 2}, "valid"),
    ("empty", {"type": "LineString", "coordinates": []}, "empty"),
    ("a 3-D vertex", {"type": "LineString", "coordinates": [[45.67, 39.84, 9], [45.7, 39.8]]},
     "height"),
    ("a point", {"type": "Point", "coordinates": [45.67, 39.84]}, "LineString"),
    ("too many points", {"type": "LineString",
                         "coordinates": [[45 + i * 1e-5, 39.8] for i in range(10_001)]},
     "more than 10000 points"),
    ("WKT nan vertex", "LINESTRING (45.67 39.84, nan 39.8)", "longitude must lie"),
    ("WKT empty", "LINESTRING EMPTY", "empty"),
    ("not nested", {"type": "LineString", "coordinates": [45.67, 39.84]}, "nested lists"),
]  # fmt: skip


@pytest.fixture
def web(tmp_path, transactional_db):
    """A real gunicorn worker serving the test database; `web.alive()` says whether the
    worker that booted still answers (one worker: a crash shows as a second boot)."""
    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    env = {**_process_env(tmp_path / "mail"), "PYTHONUNBUFFERED": "1"}
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "missionapp.wsgi:application",
             f"--bind=127.0.0.1:{port}", "--workers=1", "--timeout=60",
             "--log-level=info"],
            cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    wait_for(lambda: "Booting worker" in log_path.read_text() or proc.poll() is not None,
             timeout=60, message="gunicorn to boot")  # fmt: skip
    http = Http(f"http://127.0.0.1:{port}", {})
    try:
        wait_for(lambda: _healthy(port), timeout=120, message="the web worker to answer")
    except AssertionError:
        stop_process(proc)
        raise AssertionError(f"gunicorn did not answer:\n{log_path.read_text()[-3000:]}") from None
    first_worker = _workers(log_path)
    assert len(first_worker) == 1, log_path.read_text()

    class Web:
        url = f"http://127.0.0.1:{port}"

        @staticmethod
        def alive():
            return proc.poll() is None and _workers(log_path) == first_worker and _healthy(port)

        @staticmethod
        def log():
            return log_path.read_text()[-4000:]

    yield Web
    http.connection.close()
    stop_process(proc)


def _workers(log_path: Path):
    return re.findall(r"Booting worker with pid: (\d+)", log_path.read_text())


def _healthy(port):
    try:
        status, _ = Http(f"http://127.0.0.1:{port}", {}).request("GET", "/healthz")
    except OSError:
        return False
    return status == 200


@pytest.fixture
def field_team(users):
    jermuk = ForwardBase.objects.get(name="Jermuk")
    for role in ("monitor", "team_leader"):
        users[role].forward_base = jermuk
        users[role].save(update_fields=["forward_base"])
    departure = timezone.now() - timedelta(hours=1)
    plan = patrol_plan_create(
        forward_base=jermuk, team_leader=users["team_leader"], author=users["team_leader"],
        purpose="Jermuk road", planned_departure=departure,
        planned_return=departure + timedelta(hours=6),
        route=LineString(JERMUK_ROAD, srid=4326), monitors=[users["monitor"]],
        status=PatrolPlan.Status.UNDER_WAY,
    )  # fmt: skip
    tokens = {
        role: DeviceToken.objects.create(user=users[role], device_name=f"tablet {role}")[1]
        for role in ("monitor", "team_leader")
    }
    return {"plan": plan, "tokens": tokens, "base": jermuk, **users}


def send(web, token, method, path, body):
    client = Http(web.url, {"Authorization": f"Token {token}"})
    try:
        status, content = client.request(method, path, body)
    finally:
        client.connection.close()
    return status, content


def errors_of(content):
    return json.loads(content)["errors"]


def report(**location):
    return {
        "uuid": str(uuid.uuid4()),
        "observed_at": (timezone.now() - timedelta(minutes=20)).isoformat(),
        "location": {"type": "Point", "coordinates": [45.70, 39.82]},
        "category": "shelling",
        "severity": 3,
        "description": "Hostile input test",
        **location,
    }


def assert_refused(web, status, content, field, words, case):
    assert web.alive(), f"{case}: the web worker died\n{web.log()}"
    assert status == 400, f"{case}: answered {status}: {content[:300]!r}"
    errors = errors_of(content)
    assert field in errors, f"{case}: {errors}"
    assert words in " ".join(errors[field]), f"{case}: {errors[field]}"


def test_hostile_points_are_refused_on_their_field_and_the_worker_lives(web, field_team):
    token = field_team["tokens"]["monitor"]
    restrictions = f"/api/patrols/{field_team['plan'].pk}/restrictions/"
    for case, geometry, words in HOSTILE_POINTS:
        for field in ("location", "observer_position"):
            status, content = send(web, token, "POST", "/api/reports/",
                                   json.dumps(report(**{field: geometry})))  # fmt: skip
            assert_refused(web, status, content, field, words, f"report {field}: {case}")
        body = {"category": "denial", "actor": "armenian_border_guards",
                "occurred_at": (timezone.now() - timedelta(minutes=5)).isoformat(),
                "location": geometry, "description": "Stopped at the checkpoint"}  # fmt: skip
        status, content = send(web, token, "POST", restrictions, json.dumps(body))
        assert_refused(web, status, content, "location", words, f"restriction: {case}")
    assert not IncidentReport.objects.exists()
    assert not field_team["plan"].restrictions.exists()


def test_hostile_routes_and_positions_are_refused_and_the_worker_lives(web, field_team):
    token = field_team["tokens"]["team_leader"]
    departure = timezone.now() + timedelta(days=10)
    for case, route, words in HOSTILE_ROUTES:
        body = {
            "forward_base": field_team["base"].pk, "team_leader": "t-team_leader",
            "purpose": "Hostile route", "planned_departure": departure.isoformat(),
            "planned_return": (departure + timedelta(hours=5)).isoformat(), "route": route,
        }  # fmt: skip
        status, content = send(web, token, "POST", "/api/patrols/", json.dumps(body))
        assert_refused(web, status, content, "route", words, f"route: {case}")
        status, content = send(web, token, "PATCH", f"/api/patrols/{field_team['plan'].pk}/",
                               json.dumps({"route": route}))  # fmt: skip
        assert web.alive(), f"route edit: {case}: the web worker died\n{web.log()}"
        assert 400 <= status < 500, f"route edit: {case}: answered {status}"

    # Numbers JSON cannot carry arrive as text: "NaN", "Infinity", 1e999.
    for lat in ('"NaN"', '"Infinity"', "1e999", "91"):
        waypoint = (f'{{"forward_base": {field_team["base"].pk}, "team_leader": "t-team_leader",'
                    f' "purpose": "x", "planned_departure": "{departure.isoformat()}",'
                    f' "planned_return": "{(departure + timedelta(hours=5)).isoformat()}",'
                    f' "waypoints": [{{"name": "A", "lat": {lat}, "lon": 45.7}},'
                    f' {{"name": "B", "lat": 39.8, "lon": 45.8}}]}}')  # fmt: skip
        status, content = send(web, token, "POST", "/api/patrols/", waypoint)
        assert web.alive(), f"waypoint lat {lat}: the web worker died\n{web.log()}"
        assert status == 400, f"waypoint lat {lat}: {status} {content[:200]!r}"
        assert "waypoints.0.lat" in errors_of(content), errors_of(content)

        track = json.dumps(
            {
                "points": [
                    {
                        "uuid": str(uuid.uuid4()),
                        "lon": 45.7,
                        "lat": 39.8,
                        "recorded_at": timezone.now().isoformat(),
                    }
                ]
            }
        )
        track = track.replace('"lat": 39.8', f'"lat": {lat}')
        status, content = send(
            web, token, "POST", f"/api/patrols/{field_team['plan'].pk}/track/", track
        )
        assert web.alive(), f"track lat {lat}: the web worker died\n{web.log()}"
        assert status == 400, f"track lat {lat}: {status} {content[:200]!r}"

    for query in ("lat=nan&lon=45.7", "lat=39.8&lon=1e300", "lat=inf&lon=-inf", "lat=&lon="):
        status, content = send(web, token, "GET", f"/api/geography/locate/?{query}", None)
        assert web.alive(), f"locate {query}: the web worker died\n{web.log()}"
        assert status == 400, f"locate {query}: {status}"
    assert PatrolPlan.objects.count() == 1
    time.sleep(0)  # nothing else to wait for: every answer above was read


def test_a_hostile_route_drawn_on_the_plan_page_is_refused_on_its_field(client, field_team):
    client.force_login(field_team["team_leader"])
    page = f"/patrols/{field_team['plan'].pk}/edit/"
    assert client.get(page).status_code in (200, 302, 403)
    from patrols.forms import PlanForm

    for case, route, words in HOSTILE_ROUTES:
        text = route if isinstance(route, str) else json.dumps(route)
        form = PlanForm(data={"route": text, "purpose": "x"}, base=field_team["base"])
        assert not form.is_valid()
        assert words in " ".join(form.errors["route"]), f"{case}: {form.errors['route']}"
    good = PlanForm(data={"route": json.dumps({"type": "LineString", "coordinates": JERMUK_ROAD})},
                    base=field_team["base"])  # fmt: skip
    good.is_valid()
    assert "route" not in good.errors
    assert good.cleaned_data["route"].equals(LineString(JERMUK_ROAD, srid=4326))
    assert isinstance(good.cleaned_data["route"][0], tuple)
    assert Point(*JERMUK_ROAD[0]).equals(Point(good.cleaned_data["route"][0]))


# Refused geometry text that Django's widget used to parse again when it redrew the form:
# the GDAL transform of the first never returned (a request thread pinned), the others
# answered 500. Each must come back as the form with the field's error, promptly.
REDRAWN = [
    ("SRID=3857;LINESTRING (1e300 1e300, 1 1)", "EPSG:4326"),
    ("SRID=3857;POINT (1e20 1e20)", "EPSG:4326"),
    ('{"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[45, 39], [46, 40]]}}',
     "not «Feature»"),
    ('{"type": "FeatureCollection", "features": []}', "not «FeatureCollection»"),
    ('{"type": "LineString", "coordinates": ' + "[" * 100_000 + "]" * 100_000 + "}",
     "not valid GeoJSON"),
    ('{"type": "LineString", "coordinates": [[45.7, 39.8], [45.8, 39.9]], '
     '"crs": {"type": "name", "properties": "x"}}', "WGS84"),
]  # fmt: skip


def answered_within(seconds, call):
    """call()'s result, failing the test if it takes longer (it once never returned)."""
    import threading

    from django.db import connections

    result, errors = [], []

    def run():
        try:
            result.append(call())
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"no answer within {seconds} s"
    assert not errors, errors
    return result[0]


@pytest.mark.parametrize(("text", "reason"), REDRAWN)
def test_a_refused_route_redraws_the_plan_form_without_parsing_it_again(field_team, text, reason):
    from django.test import Client

    client = Client()
    client.force_login(field_team["team_leader"])
    departure = timezone.localtime(timezone.now() + timedelta(days=10))
    form = {
        "purpose": "Hostile route drawn", "team_leader": field_team["team_leader"].pk,
        "planned_departure": departure.strftime("%Y-%m-%dT%H:%M"),
        "planned_return": (departure + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M"),
        "route": text, "waypoints-TOTAL_FORMS": 0, "waypoints-INITIAL_FORMS": 0,
        "vehicles-TOTAL_FORMS": 0, "vehicles-INITIAL_FORMS": 0,
    }  # fmt: skip
    response = answered_within(30, lambda: client.post("/patrols/new/", form))
    assert response.status_code in (200, 400), response.status_code
    page = response.content.decode()
    assert "Hostile route drawn" in page  # what was typed is kept
    # The reason, or (a point where a line was asked for) the type asked for.
    assert any(
        words in page
        for words in (reason, reason.replace("«", "&laquo;").replace("»", "&raquo;"),
                      "Give a GeoJSON LineString")
    ), text[:80]  # fmt: skip


@pytest.mark.parametrize(("text", "reason"), REDRAWN)
def test_a_refused_zone_redraws_the_admin_form_without_parsing_it_again(field_team, text, reason):
    from django.test import Client

    coordinator = field_team["coordinator"]
    coordinator.is_staff = True
    coordinator.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(coordinator)
    now = timezone.localtime()
    form = {
        "name": "Hostile zone", "reason": "mines", "details": "",
        "valid_from_0": now.strftime("%Y-%m-%d"), "valid_from_1": now.strftime("%H:%M:%S"),
        "valid_until_0": "", "valid_until_1": "", "geom": text,
    }  # fmt: skip
    response = answered_within(30, lambda: client.post("/admin/core/restrictedzone/add/", form))
    assert response.status_code == 200, response.status_code
    errors = response.context["adminform"].form.errors["geom"][0]
    assert "WGS84" in errors or "not" in errors, errors


def api_as(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"occurred_at": "0001-01-01T00:00:00"}, "occurred_at", "offset"),
        ({"occurred_at": "0001-01-01T00:00:00Z"}, "occurred_at", "between the years"),
        ({"occurred_at": "2026-12-02T09:00:00"}, "occurred_at", "offset"),
        ({"occurred_at": "1900-01-01T00:00:00Z"}, "occurred_at", "between the years"),
        ({"duration_minutes": 9223372036854775807}, "duration_minutes", "less than or equal"),
    ],
)
def test_a_restriction_takes_times_and_durations_as_every_api_time(
    field_team, changes, field, reason
):
    body = {"category": "denial", "actor": "armenian_border_guards",
            "occurred_at": (timezone.now() - timedelta(minutes=5)).isoformat(),
            "location": {"type": "Point", "coordinates": [45.68, 39.81]},
            "description": "Stopped at the checkpoint", **changes}  # fmt: skip
    response = api_as(field_team["monitor"]).post(
        f"/api/patrols/{field_team['plan'].pk}/restrictions/", body, format="json"
    )
    assert response.status_code == 400, response.content
    assert reason in response.json()["errors"][field][0]


@pytest.mark.parametrize("at", ["0001-01-01", "0001-01-01T00:00:00", "9999-12-31T23:59:59"])
def test_restricted_zones_at_an_impossible_moment_is_a_400(field_team, at):
    response = api_as(field_team["monitor"]).get("/api/geography/restricted-zones/", {"at": at})
    assert response.status_code == 400 and "at" in response.json()["errors"]


@pytest.mark.parametrize(
    "route",
    [[[0, 90], [10, 90]], [[0, -90], [10, -90]], [[45.67, 39.84], [180, 89.99]]],
)
def test_a_route_far_from_the_mission_is_blocked_where_the_projection_fails(field_team, route):
    from patrols.services import safety

    plan = field_team["plan"]
    plan.route = LineString(route, srid=4326)
    findings = safety.check_mission_area(plan)
    assert [f.code for f in findings] == ["outside_mission_area"]
    assert findings[0].severity == safety.BLOCKING


def test_a_waypoint_outside_the_mission_area_blocks_the_itinerary(field_team):
    from patrols.models import Waypoint
    from patrols.services import safety

    plan = field_team["plan"]
    Waypoint.objects.create(plan=plan, position=1, name="The pole", location=Point(180, 90))
    findings = safety.check_mission_area(plan)
    assert findings and "waypoint «The pole»" in findings[0].message

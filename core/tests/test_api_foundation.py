"""The API's common ground: schema and docs, one error format, pagination, filters, query counts."""

import logging

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from core.models import Province


@pytest.fixture
def client_for(users):
    def make(role):
        client = APIClient()
        client.force_authenticate(users[role])
        return client

    return make


@pytest.mark.django_db
def test_the_openapi_schema_and_its_docs_page_are_served(client_for):
    client = client_for("monitor")
    schema = client.get(reverse("schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ("/api/auth/login/", "/api/geography/provinces/", "/api/reports/"):
        assert path in paths
    docs = client.get(reverse("api-docs"))
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()


@pytest.mark.django_db
def test_the_schema_is_built_once_per_process_and_is_the_generators(client_for, monkeypatch):
    from drf_spectacular.generators import SchemaGenerator

    from core.api.docs import SchemaBuiltOnce

    monkeypatch.setattr(SchemaBuiltOnce, "built", {})
    built = []
    original = SchemaGenerator.get_schema

    def counting(self, *args, **kwargs):
        built.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SchemaGenerator, "get_schema", counting)
    json_type = "application/vnd.oai.openapi+json"
    first = client_for("monitor").get(reverse("schema"), HTTP_ACCEPT=json_type)
    second = client_for("duty_officer").get(reverse("schema"), HTTP_ACCEPT=json_type)
    yaml = client_for("coordinator").get(reverse("schema"))
    assert (first.status_code, second.status_code, yaml.status_code) == (200, 200, 200)
    assert len(built) == 1
    assert first.json() == second.json() == original(SchemaGenerator(), request=None, public=True)
    assert b"/api/reports/" in yaml.content and yaml["Content-Type"].startswith(
        "application/vnd.oai.openapi"
    )
    assert APIClient().get(reverse("schema")).status_code == 401  # still asked every time


@pytest.mark.django_db
def test_an_anonymous_request_gets_401_in_the_common_format_and_is_logged(geography, caplog):
    with caplog.at_level(logging.WARNING, logger="missionapp.security"):
        response = APIClient().get(reverse("api-provinces"))
    assert response.status_code == 401
    assert response.json() == {
        "status": 401,
        "code": "not_authenticated",
        "detail": "Authentication credentials were not provided.",
        "errors": {},
    }
    assert any("refused GET /api/geography/provinces/" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_a_refused_role_gets_403_in_the_common_format_and_is_logged(client_for, caplog):
    with caplog.at_level(logging.WARNING, logger="missionapp.security"):
        response = client_for("outsider").get(reverse("api-incident-reports"))
    assert response.status_code == 403
    assert response.json()["status"] == 403
    assert response.json()["code"] == "permission_denied"
    assert any("for t-outsider: 403" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_an_unknown_object_gets_404_in_the_common_format(client_for):
    response = client_for("duty_officer").get(
        reverse("api-incident-report", args=["6f1c1f40-0000-4000-8000-000000000000"])
    )
    assert response.status_code == 404
    assert response.json()["code"] == "not_found" and response.json()["errors"] == {}


@pytest.mark.django_db
def test_bad_input_names_each_field_and_the_reason(client_for):
    response = client_for("monitor").get(reverse("api-locate"), {"lat": "north", "lon": 500})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["errors"] == {
        "lat": ["A valid number is required."],
        "lon": ["The longitude must lie between -180 and 180 degrees."],
    }
    assert "lat: A valid number is required." in body["detail"]


def test_nested_errors_are_flattened_to_dotted_field_names():
    from core.api.errors import _flatten

    detail = {"waypoints": [{}, {"name": ["Required."]}], "vehicle": {"plate": ["Too long."]}}
    assert _flatten(detail) == {"waypoints.1.name": ["Required."], "vehicle.plate": ["Too long."]}
    assert _flatten(["Whole object wrong."]) == {"non_field_errors": ["Whole object wrong."]}


@pytest.mark.django_db
def test_the_province_layer_is_geojson_and_filters_sectors(client_for):
    response = client_for("monitor").get(reverse("api-provinces"), {"is_sector": "true"})
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "FeatureCollection"
    names = {f["properties"]["name"] for f in body["features"]}
    assert names == {"Tavush", "Gegharkunik", "Vayots Dzor", "Syunik", "Ararat"}
    assert body["features"][0]["geometry"]["type"] == "MultiPolygon"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name", ["api-provinces", "api-border", "api-settlements", "api-bases", "api-restricted-zones"]
)
def test_geography_layers_cost_a_bounded_number_of_queries(
    client_for, django_assert_max_num_queries, name
):
    client = client_for("monitor")
    client.get(reverse(name))  # warm the per-user role cache paths
    with django_assert_max_num_queries(3):
        response = client.get(reverse(name))
    assert response.status_code == 200 and response.json()["features"] is not None


@pytest.mark.django_db
def test_locate_answers_in_the_missions_words(client_for):
    response = client_for("monitor").get(reverse("api-locate"), {"lat": 39.5481, "lon": 46.5311})
    assert response.status_code == 200
    body = response.json()
    assert body["in_mission_area"] is True and body["sector"] == "Syunik"
    assert body["phrase"] == "in Kornidzor, Syunik"
    assert body["distance_to_border_km"] < 1


@pytest.mark.django_db
def test_health_check_reports_the_database(client):
    response = client.get(reverse("healthz"))
    # No worker or beat in this test: degraded, still 200 (core/tests/test_healthz.py).
    assert response.status_code == 200 and response.json()["database"]["status"] == "ok"


@pytest.mark.django_db
def test_list_pages_are_bounded_and_say_how_many_there_are(client_for):
    assert Province.objects.count() == 11
    response = client_for("monitor").get(reverse("api-devices"), {"page_size": 1})
    assert response.status_code == 200
    assert set(response.json()) == {"count", "next", "previous", "results"}


def test_the_schema_is_valid_openapi_without_a_single_warning(tmp_path):
    from django.core.management import call_command

    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert "/api/auth/login/" in target.read_text()

"""The OpenAPI schema states every answer: the errors in the common format on each operation,
what each download is, and the links a client can follow from an object to its operations."""

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

ERROR = "#/components/schemas/Error"


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def error_ref(response):
    return response["content"]["application/json"]["schema"]["$ref"]


def test_every_operation_documents_the_errors_it_can_give_in_the_common_format(schema):
    for label, operation in operations(schema):
        responses = operation["responses"]
        expected = set()
        if label != "POST /api/auth/login/":
            expected |= {"401", "403"}
        if "{" in label:
            expected.add("404")
        if "requestBody" in operation:
            expected |= {"400", "415"}
        assert expected <= set(responses), (label, sorted(responses))
        for code in set(responses) & {"400", "401", "403", "404", "415", "429"}:
            assert error_ref(responses[code]) == ERROR, (label, code)


def test_the_device_login_documents_its_throttle_and_needs_no_credentials(schema):
    responses = schema["paths"]["/api/auth/login/"]["post"]["responses"]
    assert {"201", "400", "429"} <= set(responses)
    assert not {"401", "403"} & set(responses)


def test_the_report_api_documents_resends_conflicts_and_stale_edits(schema):
    filing = schema["paths"]["/api/reports/"]["post"]["responses"]
    assert {"200", "201", "409"} <= set(filing)
    assert error_ref(filing["409"]) == "#/components/schemas/ReportConflict"
    report = schema["paths"]["/api/reports/{uuid}/"]
    assert "304" in report["get"]["responses"]
    assert {"412", "428"} <= set(report["patch"]["responses"])
    assert error_ref(report["patch"]["responses"]["412"]) == ERROR


@pytest.mark.parametrize(
    "path, media_types",
    [
        ("/api/patrols/{id}/itinerary.gpx", {"application/gpx+xml"}),
        ("/api/patrols/{id}/itinerary.pdf", {"application/pdf"}),
        ("/api/reports/export.csv", {"text/csv"}),
        ("/api/reports/map/", {"application/geo+json"}),
        (
            "/api/summaries/{year}/{number}/r{revision}/{level}.{fmt}",
            {"application/pdf", "application/json", "text/csv", "application/geo+json"},
        ),
    ],
)
def test_each_download_says_what_it_serves(schema, path, media_types):
    assert set(schema["paths"][path]["get"]["responses"]["200"]["content"]) == media_types


def test_the_csv_export_and_the_map_take_the_filters_of_the_list(schema):
    def query(path):
        return {p["name"] for p in schema["paths"][path]["get"]["parameters"] if p["in"] == "query"}

    filters = query("/api/reports/") - {"page", "page_size", "ordering"}
    assert {"date_from", "date_to", "bbox", "category"} <= filters
    assert filters <= query("/api/reports/export.csv")
    assert filters <= query("/api/reports/map/")


def test_a_page_of_geojson_features_is_documented_as_served(schema):
    page = schema["components"]["schemas"]["PaginatedIncidentReportFeatureList"]
    [collection, paging] = page["allOf"]
    assert collection == {"$ref": "#/components/schemas/IncidentReportFeatureList"}
    assert "results" not in paging["required"] and "features" in paging["required"]


def test_a_filed_report_links_to_the_operations_on_it(schema):
    links = schema["paths"]["/api/reports/"]["post"]["responses"]["201"]["links"]
    assert {"reports_retrieve", "reports_partial_update", "reports_submit_create"} <= set(links)
    assert links["reports_retrieve"]["parameters"] == {"path.uuid": "$response.body#/uuid"}
    # A restriction recorded on a patrol is not the patrol: its id is not the plan's.
    recorded = schema["paths"]["/api/patrols/{id}/restrictions/"]["post"]["responses"]["201"]
    assert "links" not in recorded


@pytest.mark.django_db
def test_an_unknown_api_path_answers_in_the_error_format_and_a_page_does_not(users):
    client = APIClient()
    client.force_authenticate(users["monitor"])
    response = client.get("/api/patrols/not-a-number/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "status": 404,
        "code": "not_found",
        "detail": "No API operation has this path.",
        "errors": {},
    }
    page = client.get("/patrols/not-a-number/")
    assert page.status_code == 404 and "text/html" in page["Content-Type"]

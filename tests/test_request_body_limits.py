"""A body Django refuses before any view runs (over DATA_UPLOAD_MAX_MEMORY_SIZE, too many
fields) answered Django's bare HTML "Bad Request (400)": the API answers it in its own error
format naming the limit (413 for the size), a page says what happened."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from reports.tests.test_report_filing_api import as_user

pytestmark = pytest.mark.django_db
SIX_MB = 6 * 1024 * 1024


def test_a_6_mb_api_body_is_a_413_in_the_error_format_naming_the_limit(users):
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 5 * 1024 * 1024
    body = b'{"description": "' + b"x" * SIX_MB + b'"}'
    response = as_user(users["monitor"]).post(
        reverse("api-incident-reports"), body, content_type="application/json"
    )
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "status": 413,
        "code": "request_too_large",
        "detail": "The request body is larger than the 5 MB this server accepts.",
        "errors": {},
    }


def test_too_many_form_fields_to_the_api_is_a_400_naming_the_limit(users):
    fields = "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = Client().post(
        reverse("api-device-login"), fields, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert response.json()["detail"] == (
        f"Too many fields: at most {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS}."
    )


@pytest.mark.parametrize("logged_in", [True, False])
def test_a_6_mb_form_to_a_page_gets_a_page_saying_so(users, logged_in):
    client = Client()
    if logged_in:
        client.force_login(users["team_leader"])
    url = reverse("patrol-new") if logged_in else reverse("login")
    response = client.post(url, {"purpose": "x" * SIX_MB})
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "larger than the 5 MB this server accepts" in html
    assert 'data-testid="bad-request-reason"' in html


@pytest.mark.parametrize(
    ("url", "body", "where"),
    [
        # A username looked up while validating: PostgreSQL refused the NUL (a 500).
        ("api-patrols", {"team_leader": "t-team_leader\u0000", "purpose": "x"}, "team_leader"),
        ("api-incident-reports", {"description": "Shelling\u0000"}, "description"),
        ("api-incident-reports", {"waypoints": [{"na\u0000me": "x"}]}, "waypoints.0"),
    ],
)
def test_a_nul_character_in_a_body_is_a_400_naming_where_it_is(users, url, body, where):
    client = as_user(users["team_leader"])
    for content in ({"data": body, "format": "json"}, {"data": {"purpose": "x\u0000"}}):
        response = client.post(reverse(url), **content)
        assert response.status_code == 400, response.content
        assert "NUL" in response.json()["detail"]
    response = client.post(reverse(url), body, format="json")
    assert response.json()["detail"].startswith(where)

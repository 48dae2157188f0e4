"""Who reads the daily summaries, through the pages and the API (device token), and that
every download is recorded."""

import logging
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from core.models import DeviceToken
from reports.models import SummaryDownload
from reports.tests.test_daily_summary import END, period, produce  # noqa: F401  (a fixture)

READERS = ["headquarters", "duty_officer", "coordinator", "administrator", "liaison_officer"]
REFUSED = ["monitor", "team_leader", "outsider"]


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def with_token(user):
    # Logged in with the second factor headquarters needs.
    _, token = DeviceToken.objects.create(user=user, device_name="HQ laptop", second_factor=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.fixture
def summary(period):  # noqa: F811
    return produce()


@pytest.mark.django_db
@pytest.mark.parametrize("role", READERS)
def test_readers_list_open_and_download_summaries(users, summary, role):
    client = logged_in(users[role])
    listed = client.get(reverse("summary-list"))
    assert listed.status_code == 200 and "Daily Report 320/2026" in listed.content.decode()
    detail = client.get(reverse("summary-detail", args=[2026, 320]))
    html = detail.content.decode()
    pdf = summary.artefacts.get(level="releasable", format="pdf")
    assert pdf.sha256 in html  # every file's hash is on the page
    response = client.get(reverse("summary-file", args=[2026, 320, 1, "releasable", "pdf"]))
    assert response.status_code == 200 and response.content == bytes(pdf.data)
    assert response["X-Content-SHA256"] == pdf.sha256
    assert "Daily-Report-320-2026-r1-releasable.pdf" in response["Content-Disposition"]
    logged = SummaryDownload.objects.get()
    assert (logged.user, logged.artefact, logged.via) == (users[role], pdf, "page")


@pytest.mark.django_db
@pytest.mark.parametrize("role", REFUSED)
def test_others_are_refused_and_the_refusal_is_logged(users, summary, role, caplog):
    client = logged_in(users[role])
    with caplog.at_level(logging.WARNING, logger="missionapp.security"):
        assert client.get(reverse("summary-list")).status_code == 403
        file = reverse("summary-file", args=[2026, 320, 1, "internal", "pdf"])
        assert client.get(file).status_code == 403
    assert any("refused GET /summaries/" in r.getMessage() for r in caplog.records)
    assert with_token(users[role]).get(reverse("api-summaries")).status_code == 403
    assert not SummaryDownload.objects.exists()


@pytest.mark.django_db
def test_the_api_lists_summaries_and_serves_content_and_files_with_a_device_token(
    users, summary, django_assert_max_num_queries
):
    client = with_token(users["headquarters"])
    with django_assert_max_num_queries(8):
        listed = client.get(reverse("api-summaries")).json()
    [row] = listed["results"]
    assert row["title"] == "Daily Report 320/2026"
    files = {(a["level"], a["format"]): a for a in row["revisions"][0]["artefacts"]}
    assert len(files) == 8
    csv_file = client.get(files[("internal", "csv")]["url"])
    assert (
        csv_file.status_code == 200
        and csv_file["ETag"] == f'"{files[("internal", "csv")]["sha256"]}"'
    )
    assert SummaryDownload.objects.get().via == "api"
    content = client.get(reverse("api-summary-content", args=[2026, 320]),
                         {"level": "releasable"}).json()  # fmt: skip
    assert content["level"] == "releasable" and "reporter" not in content["incidents"]["annex"][0]
    # The anchor the revision's files state, as the schema documents (it was missing).
    assert content["audit_anchor"] == summary.audit_anchor and content["audit_anchor"]["mac"]
    bad = client.get(reverse("api-summary-content", args=[2026, 320]), {"level": "secret"})
    assert bad.status_code == 400 and "level" in bad.json()["errors"]


@pytest.mark.django_db
@pytest.mark.parametrize("revision", ["true", "0", "99999999999", "2"])
def test_a_revision_that_is_not_one_of_the_summary_is_a_400_naming_it(users, summary, revision):
    # `?revision=true` reached the ORM as it was and answered 500 (found by schemathesis).
    url = reverse("api-summary-content", args=[2026, 320])
    response = with_token(users["headquarters"]).get(url, {"revision": revision})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["revision"]


@pytest.mark.django_db
def test_the_list_costs_the_same_queries_for_one_or_many_summaries(
    users, summary, django_assert_max_num_queries
):
    client = with_token(users["headquarters"])
    with django_assert_max_num_queries(8) as one:
        client.get(reverse("api-summaries"))
    for days in (1, 2, 3):
        produce(end=END - timedelta(days=days))
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert client.get(reverse("api-summaries")).json()["count"] == 4


@pytest.mark.django_db
def test_the_list_page_searches_by_number_and_by_words(users, summary):
    produce(end=END - timedelta(days=1))
    client = logged_in(users["headquarters"])
    by_number = client.get(reverse("summary-list"), {"q": "319/2026"}).content.decode()
    assert "Daily Report 319/2026" in by_number and "Daily Report 320/2026" not in by_number
    by_words = client.get(reverse("summary-list"), {"q": "3 reports"}).content.decode()
    assert "Daily Report 320/2026" in by_words and "Daily Report 319/2026" not in by_words

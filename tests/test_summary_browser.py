"""Headquarters' morning in a real Chromium: log in, open the latest daily summary from the
home page, download its PDF and its CSV (HXL hashtags in the second row)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from reports.models import SummaryDownload
from reports.summaries import services as summaries
from reports.tests.test_incident_map import KORNIDZOR, file_near
from tests.browser import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_headquarters_opens_the_latest_summary_and_downloads_the_pdf_and_the_csv(
    logged_in_page, live_server, users, tmp_path
):
    end = summaries.last_cutoff(timezone.now())
    for report in file_near(users["monitor"], KORNIDZOR, 3, severity=4):
        report.observed_at = end - timedelta(hours=5)
        report.save(update_fields=["observed_at"])
    revision = summaries.summary_produce(period_end=end)
    title = revision.summary.title

    page = logged_in_page("headquarters")
    page.get_by_role("link", name="Daily summaries").click()
    page.get_by_role("link", name=title).click()
    expect(page.get_by_test_id("summary-title")).to_have_text(title)
    expect(page.get_by_test_id("highlights")).to_contain_text("3 incidents recorded")
    shot(page, "summary-detail-1024")

    with page.expect_download() as pdf_download:
        page.get_by_test_id("download-internal-pdf").click()
    pdf = tmp_path / "summary.pdf"
    pdf_download.value.save_as(pdf)
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert pdf_download.value.suggested_filename.endswith("-r1-internal.pdf")

    with page.expect_download() as csv_download:
        page.get_by_test_id("download-releasable-csv").click()
    path = tmp_path / "summary.csv"
    csv_download.value.save_as(path)
    lines = path.read_text().splitlines()
    assert lines[0].startswith("event_id_cnty,event_date,event_type")
    assert lines[1].startswith("#event+id,#date+occurred,#event+type")
    assert len(lines) == 2 + 3
    assert SummaryDownload.objects.filter(user=users["headquarters"]).count() == 2

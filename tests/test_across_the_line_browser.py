"""An incident seen across the line, filed offline from an observer position near Kapan, as
monitors report most fire: the tablet accepts it offline and says so, the server stores it
with the observer's sector and the line of sight, the duty map draws it across the line,
its page shows it on a map, and the daily summary counts it with ACLED's place columns set
for the other side. A tablet viewport, Chromium, the network cut by aborting every request."""

import csv
import io
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from core.models import ForwardBase
from reports.models import IncidentReport, SummaryArtefact
from reports.summaries.documents import releasable
from reports.summaries.services.periods import cutoff_on
from reports.summaries.services.production import summary_produce
from tests.browser import shot
from tests.test_tablet_offline_browser import (  # noqa: F401 (the tablet fixture)
    PORTRAIT,
    SYNC_TIMEOUT,
    open_tablet_logged_in,
    tablet,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

YEREVAN = ZoneInfo("Asia/Yerevan")
# On the ridge east of Kapan, in Syunik; the shelling 8.6 km east of it, beyond the border.
OBSERVER = (39.215, 46.58)


def test_an_incident_seen_across_the_line_is_filed_offline_and_shown_across_it_downstream(
    tablet,  # noqa: F811 (the fixture imported above)
    live_server,
    users,
    log_in,
    page,  # noqa: F811
):
    monitor = users["monitor"]
    monitor.forward_base = ForwardBase.objects.get(name="Kapan")
    monitor.save(update_fields=["forward_base"])
    yesterday = timezone.localdate() - timedelta(days=1)
    observed = datetime.combine(yesterday, time(10, 15), YEREVAN)

    device = tablet.page
    device.set_viewport_size(PORTRAIT)
    open_tablet_logged_in(device, live_server, monitor)
    # The map opens at the monitor's forward base, with names to navigate by.
    device.get_by_role("button", name="+ New report").click()
    expect(device.locator("#map")).to_have_attribute("data-layers-state", "loaded")
    expect(device.locator(".base-label", has_text="Kapan base")).to_be_visible()
    expect(device.locator(".settlement-label", has_text="Zangilan (Azerbaijan)")).to_be_attached()

    tablet.go_offline()
    device.get_by_label("Category").select_option("shelling")
    device.locator('input[name="severity"][value="3"]').check()
    device.get_by_label("Description").fill("Six artillery rounds seen landing east of the ridge.")
    device.get_by_label("Observed at").fill(observed.strftime("%Y-%m-%dT%H:%M"))
    device.get_by_label("Observer latitude").fill(str(OBSERVER[0]))
    device.get_by_label("Observer longitude").fill(str(OBSERVER[1]))
    # Placed from the observer by direction and distance, not by a tap.
    device.get_by_label("Direction from observer (° from north)").fill("95")
    device.get_by_label("Estimated distance (m)").fill("8600")
    device.get_by_role("button", name="Place the incident from these").click()
    expect(device.get_by_label("Incident latitude")).not_to_have_value("")
    note = device.get_by_test_id("placement-note")
    expect(note).to_have_attribute("data-across-line", "true")
    expect(note).to_contain_text("in your sector Syunik")
    device.locator("#map").scroll_into_view_if_needed()
    shot(device, "tablet-across-the-line-offline-800x1280")
    device.get_by_role("button", name="Submit report").click()
    expect(device.locator("#toast")).to_contain_text("Report saved on this tablet")
    expect(device.get_by_test_id("outbox-pending")).to_have_text("1")
    assert IncidentReport.objects.count() == 0

    tablet.go_online()
    expect(device.get_by_test_id("outbox-pending")).to_have_text("0", timeout=SYNC_TIMEOUT)
    report = IncidentReport.objects.get()
    assert report.across_line and report.sector.name == "Syunik"
    assert (report.direction_degrees, report.estimated_distance_m) == (95, 8600)
    assert report.location_phrase.startswith("across the line, ")
    assert report.reference == f"KAP-{yesterday.year}-0001"
    card = device.locator(f'.item[data-uuid="{report.uuid}"]')
    expect(card.get_by_test_id("item-reference")).to_contain_text(report.reference)
    expect(card.get_by_test_id("item-reference")).to_contain_text("3 – Significant")
    shot(device, "tablet-across-the-line-delivered-800x1280")

    # The duty officer's map draws it across the line; its page has a map of its own.
    officer = log_in(users["duty_officer"], target=page)
    officer.goto(f"{live_server.url}{reverse('incident-map')}")
    expect(officer.locator("#incident-map")).to_have_attribute("data-incidents-state", "loaded")
    body = officer.evaluate(
        """async () => (await fetch('/api/reports/map/?bbox=46.4,39.0,46.9,39.4&zoom=13',
                         {credentials: 'same-origin'})).json()"""
    )
    (feature,) = [f for f in body["features"] if not f["properties"]["cluster"]]
    assert feature["properties"]["across_line"] is True
    assert feature["properties"]["reference"] == report.reference
    officer.goto(f"{live_server.url}{reverse('incident-detail', args=[report.uuid])}")
    expect(officer.get_by_test_id("across-line")).to_have_text("Across the line")
    expect(officer.get_by_test_id("report-reference")).to_have_text(report.reference)
    expect(officer.locator("#incident-report-map")).to_have_attribute("data-incident-drawn", "true")
    expect(officer.locator("#incident-report-map .incident-page-incident")).to_be_attached()
    shot(officer, "incident-page-across-the-line-1024x768")

    # The daily summary of that day counts it, across the line.
    revision = summary_produce(period_end=cutoff_on(yesterday))
    (row,) = revision.content["incidents"]["annex"]
    assert row["ref"] == report.reference and row["across_line"] is True
    assert row["location_phrase"].startswith("across the line, ")
    artefact = SummaryArtefact.objects.get(revision=revision, format="csv", level="releasable")
    lines = list(csv.DictReader(io.StringIO(bytes(artefact.data).decode())))
    data = lines[1]  # the first row under the header holds HXL hashtags
    assert (data["country"], data["admin1"], data["sector"], data["across_line"]) == (
        "Azerbaijan",
        "",
        "Syunik",
        "yes",
    )
    # The line of sight gives away where the monitors stood: internal only.
    assert row["observer_bearing_degrees"] == 95
    (released,) = releasable(revision.content)["incidents"]["annex"]
    assert "observer_bearing_degrees" not in released and "observer_distance_m" not in released

"""A duty officer's morning in a real Chromium: the incident map clusters 200 incidents on the
server, zooms into a cluster down to single incidents, opens one, and the review queue leads
to the report's page where it is returned with questions. Screenshots land in /tmp/shots."""

import re

import pytest
from playwright.sync_api import expect

from reports.models import IncidentReport
from reports.tests.test_incident_map import JERMUK, KORNIDZOR, SISIAN, file_near
from tests.browser import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIMEOUT = 20_000
CATCH_MAPS = """
window.__maps = [];
window.addEventListener("map:init", function (e) { window.__maps.push(e.detail.map); });
"""


@pytest.fixture
def incidents(users):
    monitor = users["monitor"]
    return (file_near(monitor, SISIAN, 150, spread=0.05)
            + file_near(monitor, KORNIDZOR, 40, severity=4)
            + file_near(monitor, JERMUK, 10, severity=1))  # fmt: skip


def loaded(page):
    container = page.locator("#incident-map")
    expect(container).to_have_attribute("data-incidents-state", "loaded", timeout=TIMEOUT)
    return container


def test_the_map_clusters_on_the_server_and_zooms_down_to_single_incidents(
    logged_in_page, live_server, incidents
):
    page = logged_in_page("duty_officer")
    page.add_init_script(CATCH_MAPS)
    requests = []
    page.on("request", lambda r: "/api/reports/map/" in r.url and requests.append(r.url))
    page.goto(f"{live_server.url}/incidents/map/")
    expect(page.locator("#incident-map")).to_have_attribute("data-layers-state", "loaded",
                                                            timeout=TIMEOUT)  # fmt: skip
    map_ = loaded(page)
    expect(page.get_by_test_id("incident-map-status")).to_contain_text("200 incidents in view")
    clusters = page.locator(".incident-cluster")
    assert 1 <= clusters.count() <= 20
    assert int(map_.get_attribute("data-incidents-features")) == clusters.count()
    shot(page, "incident-map-1024")

    # Click the biggest cluster, again and again, until single incidents show.
    zoom_before = page.evaluate("window.__maps[0].getZoom()")
    for _ in range(10):
        if page.locator("#incident-map path.incident-dot").count():
            break
        biggest = max(page.locator(".incident-cluster").all(),
                      key=lambda c: int(c.inner_text().replace(",", "")))  # fmt: skip
        with page.expect_request(lambda r: "/api/reports/map/" in r.url, timeout=TIMEOUT):
            biggest.click()
        loaded(page)
    assert page.evaluate("window.__maps[0].getZoom()") > zoom_before
    dots = page.locator("#incident-map path.incident-dot")
    assert dots.count() >= 1
    shot(page, "incident-map-zoomed")
    assert all("bbox=" in url and "zoom=" in url for url in requests)

    dots.first.click(force=True)
    popup = page.locator(".leaflet-popup-content")
    expect(popup).to_contain_text("Shelling / artillery")
    popup.get_by_role("link", name="Open the report").click()
    expect(page.get_by_test_id("report-status")).to_have_text("Submitted")


def test_the_filters_narrow_the_map_and_the_list_link_follows(
    logged_in_page, live_server, incidents
):
    page = logged_in_page("headquarters")
    page.goto(f"{live_server.url}/incidents/map/")
    loaded(page)
    page.get_by_label("Severity at least").fill("4")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_test_id("incident-map-status")).to_contain_text("40 incidents in view",
                                                                      timeout=TIMEOUT)  # fmt: skip
    expect(page.get_by_label("Severity at least")).to_have_value("4")
    page.get_by_role("link", name="List these").click()
    expect(page.get_by_test_id("result-count")).to_have_text("40")


def test_from_the_queue_a_report_is_returned_with_questions(logged_in_page, live_server, users):
    report = file_near(users["monitor"], KORNIDZOR, 1, severity=5)[0]
    page = logged_in_page("duty_officer")
    page.set_viewport_size({"width": 800, "height": 1280})
    page.goto(f"{live_server.url}/incidents/queue/")
    row = page.get_by_test_id("queue-row")
    expect(row.get_by_test_id("urgent")).to_be_visible()
    shot(page, "review-queue-800")
    row.get_by_role("link", name=re.compile("Review")).click()
    page.get_by_role("button", name="Return with questions").click()
    # Nothing typed: the browser holds the form back at the field (the server would refuse).
    assert page.get_by_label("Questions").evaluate("el => el.validity.valueMissing")
    expect(page.get_by_test_id("report-status")).to_have_text("Submitted")
    page.get_by_label("Questions").fill("From which direction did the shelling come?")
    page.get_by_role("button", name="Return with questions").click()
    expect(page.get_by_test_id("report-status")).to_have_text("Returned for information")
    expect(page.get_by_test_id("history")).to_contain_text(
        "From which direction did the shelling come?")  # fmt: skip
    shot(page, "incident-detail-800", full_page=True)
    report.refresh_from_db()
    assert report.status == IncidentReport.Status.RETURNED


def test_new_incidents_appear_without_a_reload_and_no_group_hides_a_base(
    logged_in_page, live_server, users, incidents, settings
):
    settings.INCIDENT_MAP_REFRESH_SECONDS = 2
    page = logged_in_page("duty_officer")
    page.goto(f"{live_server.url}/incidents/map/")
    map_ = loaded(page)
    expect(map_).to_have_attribute("data-layers-state", "loaded", timeout=TIMEOUT)
    expect(map_).to_have_attribute("data-incidents-total", "200")
    page.evaluate("window.__notReloaded = true")
    # Every forward base is on top wherever a group of incidents is drawn over it.
    covered = page.evaluate("""() => Array.from(document.querySelectorAll('.mission-base-icon'))
        .map(icon => { const r = icon.getBoundingClientRect();
                       const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
                       return hit && !hit.closest('.mission-base-icon') ? hit.className : null; })
        .filter(Boolean)""")
    assert covered == []
    labels = page.locator(".mission-base-label")
    assert labels.count() == 6
    file_near(users["monitor"], KORNIDZOR, 1, severity=5)
    expect(map_).to_have_attribute("data-incidents-total", "201", timeout=TIMEOUT)
    assert page.evaluate("window.__notReloaded") is True
    expect(page.get_by_test_id("incident-map-status")).to_contain_text("every 2 s")

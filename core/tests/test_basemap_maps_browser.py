"""The desk maps draw the base layer under the mission's own layers when one is loaded, in a
real Chromium, with the Content-Security-Policy of every page; without one they stay as they
were (core/tests/test_browser_login_and_maps.py: no tile at all)."""

import pytest
from playwright.sync_api import expect

from tests.browser import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", e => window.__violations.push(
  e.violatedDirective + " blocked " + (e.blockedURI || "inline")));
"""
TILES = """sel => Array.from(document.querySelectorAll(sel + " .mission-basemap img.leaflet-tile"))
  .map(img => ({loaded: img.classList.contains("leaflet-tile-loaded") && img.complete,
                width: img.naturalWidth, src: img.getAttribute("src")}))"""


@pytest.mark.parametrize("path, selector", [
    ("/", "#mission-map"),
    ("/incidents/map/", "#incident-map"),
    ("/incidents/{uuid}/", "#incident-report-map"),
])  # fmt: skip
def test_a_desk_map_draws_the_base_layer_under_the_mission_layers(
    path, selector, logged_in_page, live_server, basemap, users
):
    from reports.tests.factories import IncidentReportFactory

    report = IncidentReportFactory(author=users["team_leader"], submitted=True)
    path = path.format(uuid=report.uuid)
    page = logged_in_page("team_leader")
    page.context.add_init_script(WATCH)
    page.goto(f"{live_server.url}{path}")
    container = page.locator(selector)
    expect(container).to_have_attribute("data-basemap", "loaded", timeout=20_000)
    expect(container).to_have_attribute("data-basemap-version", basemap.info.version)
    expect(container).to_have_attribute("data-layers-state", "loaded", timeout=20_000)
    page.wait_for_function(f"() => ({TILES})({selector!r}).some(t => t.loaded)")

    tiles = page.evaluate(TILES, selector)
    loaded = [t for t in tiles if t["loaded"]]
    assert loaded and all(t["width"] == 256 for t in loaded), tiles
    assert all(f"?v={basemap.info.version}" in t["src"] for t in tiles)
    # Under every pane of the mission's layers, whose province fills are lightened over it.
    z = page.evaluate(f"""() => {{
        const q = s => document.querySelector('{selector} ' + s);
        return [getComputedStyle(q('.leaflet-tile-pane')).zIndex,
                getComputedStyle(q('.leaflet-mission-provinces-pane')).zIndex,
                q('path.mission-province').getAttribute('fill-opacity')];
    }}""")
    assert int(z[0]) < int(z[1]) and float(z[2]) == pytest.approx(0.15), z
    assert page.evaluate("window.__violations") == []
    shot(page, f"basemap-desk-{selector.strip('#')}-1024x768")

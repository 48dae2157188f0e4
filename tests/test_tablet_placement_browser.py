"""One rule, both ends: the tablet's offline check (static/tablet/placement.js) gives the
server's verdicts (reports.services.placement) on the shared cases, in the same words, with
the geography the tablet caches; and a monitor sees why next to the map as the pins move."""

import json
import random
from pathlib import Path

import pytest
from playwright.sync_api import expect

from reports.tests.test_placement_rule import CASES, server_verdict
from tests.browser import shot
from tests.test_tablet_offline_browser import PORTRAIT, open_tablet_logged_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CASES_FILE = Path(__file__).parents[1] / "reports" / "tests" / "placement_cases.json"


def test_the_tablet_gives_the_servers_verdict_on_every_shared_case(page, live_server, users):
    page.set_viewport_size(PORTRAIT)
    open_tablet_logged_in(page, live_server, users["monitor"])
    limit = json.loads(CASES_FILE.read_text())["max_beyond_border_km"]
    verdicts = page.evaluate(
        """async ([cases, limit]) => {
            const get = (url) => fetch(url, {credentials: "same-origin"}).then(r => r.json());
            const config = JSON.parse(document.getElementById("tablet-config").textContent);
            const [provinces, border] = await Promise.all(
                [get(config.api.provinces), get(config.api.border)]);
            return cases.map(c => TabletPlacement.verdict({
                location: c.location, observer: c.observer, provinces, border,
                maxBeyondKm: limit, toleranceKm: config.placement.toleranceKm,
                farthestKm: config.placement.farthestKm}));
        }""",
        [CASES, limit],
    )
    seen = {}
    for case, verdict in zip(CASES, verdicts, strict=True):
        if "errors" in verdict:
            seen[case["name"]] = {"errors": verdict["errors"]}
        else:
            seen[case["name"]] = {"sector": verdict["sector"], "across_line": verdict["acrossLine"]}
    assert seen == {case["name"]: case["expect"] for case in CASES}


def test_placing_the_pins_says_across_the_line_or_why_not_and_refuses_before_saving(
    page, live_server, users
):
    page.set_viewport_size(PORTRAIT)
    open_tablet_logged_in(page, live_server, users["monitor"])
    page.get_by_role("button", name="+ New report").click()
    note = page.get_by_test_id("placement-note")
    page.get_by_label("Observer latitude").fill("39.215")
    page.get_by_label("Observer longitude").fill("46.58")
    page.get_by_label("Incident latitude").fill("39.21")
    page.get_by_label("Incident longitude").fill("46.68")
    expect(note).to_have_attribute("data-across-line", "true")
    expect(note).to_contain_text("Across the line")
    expect(note).to_contain_text("in your sector Syunik")
    expect(note).to_contain_text("km E")
    page.locator("#map").scroll_into_view_if_needed()
    shot(page, "tablet-across-the-line-800x1280")
    # No observer: the rule needs one for an incident across the line, and says so.
    page.get_by_label("Observer latitude").fill("")
    page.get_by_label("Observer longitude").fill("")
    expect(note).to_contain_text("is across the line, outside the mission area: give your position")
    page.get_by_label("Category").select_option("shelling")
    page.locator('input[name="severity"][value="3"]').check()
    page.get_by_label("Description").fill("Shelling seen across the line.")
    page.get_by_role("button", name="Submit report").click()
    expect(page.locator("#err-location")).to_contain_text("give your position")
    expect(page.get_by_test_id("report-state")).to_have_text("Draft")


def test_a_tap_after_zooming_lands_where_the_finger_is(browser, live_server, users):
    """On a touch screen, after zooming in and turning the tablet: a tap on the forward base
    places the incident at the base (it once landed 150 km away)."""
    context = browser.new_context(viewport=PORTRAIT, has_touch=True, is_mobile=True, locale="en-GB")
    try:
        page = context.new_page()
        open_tablet_logged_in(page, live_server, users["monitor"])
        page.get_by_role("button", name="+ New report").click()
        expect(page.locator("#map")).to_have_attribute("data-layers-state", "loaded")
        page.locator("#map").scroll_into_view_if_needed()
        for _ in range(2):
            page.locator(".leaflet-control-zoom-in").tap()
            page.wait_for_timeout(400)
        page.set_viewport_size({"width": 1280, "height": 800})  # turned to landscape
        page.wait_for_timeout(300)
        page.locator("#map").scroll_into_view_if_needed()
        base = page.locator(".base-icon").first
        box = base.bounding_box()
        page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        expect(page.get_by_label("Incident latitude")).not_to_have_value("")
        lat = float(page.get_by_label("Incident latitude").input_value())
        lon = float(page.get_by_label("Incident longitude").input_value())
        home = users["monitor"].forward_base.location
        # Within a couple of hundred metres at this zoom (the icon is 18 px wide).
        assert abs(lat - home.y) < 0.003 and abs(lon - home.x) < 0.003, (lat, lon, home.coords)
    finally:
        context.close()


def test_the_tablet_and_the_server_agree_on_four_hundred_random_places(page, live_server, users):
    """Beyond the chosen cases: random observers and incidents over the mission area and
    its neighbours (seeded), near every limit by chance, decided alike by both ends."""
    rng = random.Random(14)
    cases = []
    for _ in range(400):
        observer = [round(rng.uniform(45.0, 46.7), 5), round(rng.uniform(38.9, 41.2), 5)]
        if rng.random() < 0.15:
            observer = None
        around = observer or [rng.uniform(44.5, 47.0), rng.uniform(38.7, 41.4)]
        location = [round(around[0] + rng.uniform(-0.4, 0.4), 5),
                    round(around[1] + rng.uniform(-0.4, 0.4), 5)]  # fmt: skip
        cases.append({"observer": observer, "location": location})
    expected = [server_verdict(case) for case in cases]
    page.set_viewport_size(PORTRAIT)
    open_tablet_logged_in(page, live_server, users["monitor"])
    verdicts = page.evaluate(
        """async (cases) => {
            const get = (url) => fetch(url, {credentials: "same-origin"}).then(r => r.json());
            const config = JSON.parse(document.getElementById("tablet-config").textContent);
            const [provinces, border] = await Promise.all(
                [get(config.api.provinces), get(config.api.border)]);
            return cases.map(c => TabletPlacement.verdict({
                location: c.location, observer: c.observer, provinces, border,
                maxBeyondKm: config.placement.maxBeyondKm,
                toleranceKm: config.placement.toleranceKm,
                farthestKm: config.placement.farthestKm}));
        }""",
        cases,
    )
    seen = [
        {"errors": v["errors"]}
        if "errors" in v
        else {"sector": v["sector"], "across_line": v["acrossLine"]}
        for v in verdicts
    ]
    differing = [(c, e, s) for c, e, s in zip(cases, expected, seen, strict=True) if e != s]
    assert differing == []
    # The sample reaches every verdict: accepted, across the line and each refusal.
    kinds = {json.dumps(sorted(e.get("errors", {"ok": e.get("across_line")}))) for e in expected}
    assert len(kinds) >= 4, kinds

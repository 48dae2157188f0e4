"""A team leader names a waypoint with markup: in a real Chromium it is shown as text on the
plan form's map, the plan's page and the coordinator's review, and never runs.

The name would have run for everyone who opened the plan (issue 11: plan-form.js passed it
to Leaflet's bindTooltip, which parses a string as HTML). The Content-Security-Policy would
now refuse the inline handler anyway, so the test checks more than "nothing ran": no element
is made from the name at all, and the policy is never even asked (no violation).
"""

import pytest
from django.contrib.gis.geos import Point
from playwright.sync_api import expect

from patrols.services import WaypointSpec, patrol_plan_submit
from patrols.tests.conftest import JERMUK_SOUTH
from patrols.tests.conftest import make_plan as make_plan  # noqa: F401  (a fixture)
from patrols.tests.conftest import team as team  # noqa: F401  (a fixture)
from tests.browser import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOSTILE = "<img src=x onerror=window.__xss=1>"
LAYERS_TIMEOUT = 20_000
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def hostile_plan(make_plan):
    return make_plan(
        waypoints=[
            WaypointSpec(HOSTILE, Point(JERMUK_SOUTH.coords[0], srid=4326)),
            WaypointSpec("Turning point", Point(JERMUK_SOUTH.coords[-1], srid=4326)),
        ]
    )


def assert_inert(page):
    page.wait_for_timeout(300)  # an image error would have fired by now
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.evaluate("document.querySelectorAll(\"img[src='x']\").length") == 0
    assert page.evaluate("window.__violations") == []


def test_a_waypoint_named_with_markup_is_shown_as_text_and_never_runs(
    page, log_in, live_server, team, make_plan
):
    plan = hostile_plan(make_plan)
    page.add_init_script(WATCH)

    # The team leader edits the plan: the form's map labels each typed waypoint.
    log_in(team["leader"])
    page.goto(f"{live_server.url}/patrols/{plan.pk}/edit/")
    expect(page.locator("#id_route-map")).to_have_attribute(
        "data-layers-state", "loaded", timeout=LAYERS_TIMEOUT
    )
    labels = page.locator(".leaflet-tooltip.plan-waypoint-label")
    expect(labels.first).to_have_text(f"1. {HOSTILE}")
    assert page.locator("#id_waypoints-0-name").input_value() == HOSTILE
    # Typing updates the label from the field: still text.
    page.locator("#id_waypoints-1-name").fill(HOSTILE + "2")
    expect(labels.nth(1)).to_have_text(f"2. {HOSTILE}2")
    shot(page, "xss-waypoint-plan-form")
    assert_inert(page)

    # The plan's page: the waypoint's marker tooltip and the waypoint table.
    page.goto(f"{live_server.url}/patrols/{plan.pk}/")
    expect(page.locator("#plan-route-map")).to_have_attribute(
        "data-layers-state", "loaded", timeout=LAYERS_TIMEOUT
    )
    page.locator(".plan-waypoint-icon").first.hover()
    expect(page.locator(".leaflet-tooltip").filter(has_text=HOSTILE)).to_have_text(f"1. {HOSTILE}")
    expect(page.locator("main").get_by_text(HOSTILE, exact=True).first).to_be_visible()
    shot(page, "xss-waypoint-plan-page")
    assert_inert(page)
    page.get_by_role("button", name="Log out").click()

    # The coordinator's review of the submitted plan.
    patrol_plan_submit(plan=plan, by=team["leader"])
    log_in(team["coordinator"])
    page.goto(f"{live_server.url}/patrols/{plan.pk}/review/")
    expect(page.locator("#plan-route-map")).to_have_attribute(
        "data-layers-state", "loaded", timeout=LAYERS_TIMEOUT
    )
    page.locator(".plan-waypoint-icon").first.hover()
    expect(page.locator(".leaflet-tooltip").filter(has_text=HOSTILE)).to_have_text(f"1. {HOSTILE}")
    shot(page, "xss-waypoint-plan-review")
    assert_inert(page)
    assert page.blocked_requests == []

"""Every kind of page works under the Content-Security-Policy, in a real Chromium.

Each page is loaded as the role that uses it; the test collects every
`securitypolicyviolation` event and every console error, and checks that the page did its
work: its maps drew the mission's layers (provinces included), the plan form's drawing tool
is there, the tablet's map loaded, Swagger UI listed the API. A page that needed an inline
script, an inline style or another host would show here as a violation. Screenshots of the
plan form, the admin's map and the API docs land in /tmp/shots.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from core.models import ForwardBase, RestrictedZone
from liaison.tests.conftest import world as world  # noqa: F401  (a fixture)
from patrols.services import patrol_plan_submit
from patrols.tests.conftest import make_plan as make_plan  # noqa: F401  (a fixture)
from patrols.tests.conftest import team as team  # noqa: F401  (a fixture)
from reports.summaries import services as summaries
from reports.tests.test_incident_map import KORNIDZOR, file_near
from tests.browser import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.long]

LAYERS_TIMEOUT = 20_000
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") +
    " at " + e.sourceFile + ":" + e.lineNumber + " " + (e.sample || ""));
});
"""


class Watched:
    """The page, its violations and console errors, gathered page by page."""

    def __init__(self, page, live_server):
        self.page = page
        self.base = live_server.url
        self.console = []
        self.problems = {}
        page.add_init_script(WATCH)
        page.on("console", lambda m: m.type == "error" and self.console.append(m.text))

    def visit(self, path):
        self.console.clear()
        self.path = path
        response = self.page.goto(self.base + path)
        assert response.status < 400, f"{path} answered {response.status}"
        policy = response.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in policy, f"{path}: no CSP header ({policy!r})"
        return self.page

    def check(self):
        """Record this page's violations and console errors (asserted at the end, together)."""
        self.page.wait_for_timeout(300)  # late violations (images, fonts) are reported async
        found = self.page.evaluate("window.__violations") + [f"console: {c}" for c in self.console]
        if found:
            self.problems[self.path] = found

    def assert_clean(self):
        assert self.problems == {}, "\n".join(
            f"{path}:\n  " + "\n  ".join(found) for path, found in self.problems.items()
        )
        assert self.page.blocked_requests == []


def layers_drawn(page, selector):
    container = page.locator(selector)
    expect(container).to_have_attribute("data-layers-state", "loaded", timeout=LAYERS_TIMEOUT)
    expect(container.locator("path.mission-province").first).to_be_attached()
    return container


def log_out(page):
    page.context.clear_cookies()


def test_every_kind_of_page_works_under_the_policy_with_no_violation(
    page, log_in, live_server, users, team, make_plan, world
):
    watched = Watched(page, live_server)
    plan = make_plan()
    patrol_plan_submit(plan=plan, by=team["leader"])
    report = file_near(users["monitor"], KORNIDZOR, 2, severity=4)[0]
    revision = summaries.summary_produce(period_end=summaries.last_cutoff(timezone.now()))
    zone = RestrictedZone.objects.create(
        name="Mined fields west of Goris",
        reason=RestrictedZone.Reason.MINES,
        geom="MULTIPOLYGON(((46.20 39.50,46.26 39.50,46.26 39.55,46.20 39.55,46.20 39.50)))",
        valid_from=timezone.now() - timedelta(hours=2),
    )

    watched.visit("/login/")
    watched.check()

    # The team leader: home, the plan form with Leaflet.draw, the plan's page.
    log_in(team["leader"])
    watched.visit("/")
    layers_drawn(page, "#mission-map")
    expect(page.locator("#mission-map-legend li")).to_have_count(7)
    # A province's popup: its facts, built as nodes from the geography API.
    page.locator("#mission-map path.mission-province--sector").first.dispatch_event("click")
    expect(page.locator(".leaflet-popup-content")).to_contain_text("ISO 3166-2")
    watched.check()
    watched.visit("/patrols/new/")
    layers_drawn(page, "#id_route-map")
    expect(page.locator("#id_route-map .leaflet-draw-draw-polyline")).to_be_visible()
    page.get_by_role("button", name="Add a waypoint").click()
    page.locator("#id_waypoints-0-name").fill("Jermuk base")
    page.locator("#id_waypoints-0-lat").fill("39.84168")
    page.locator("#id_waypoints-0-lon").fill("45.66949")
    expect(page.locator(".plan-waypoint-label")).to_have_text("1. Jermuk base")
    page.locator("#id_route-map").scroll_into_view_if_needed()
    shot(page, "csp-plan-form")
    watched.check()
    watched.visit(f"/patrols/{plan.pk}/")
    layers_drawn(page, "#plan-route-map")
    watched.check()
    watched.visit("/patrols/calendar/")
    watched.check()
    log_out(page)

    # The coordinator's review.
    log_in(team["coordinator"])
    watched.visit(f"/patrols/{plan.pk}/review/")
    layers_drawn(page, "#plan-route-map")
    watched.check()
    log_out(page)

    # The duty officer: the incident map and list, a report's page.
    log_in(users["duty_officer"])
    watched.visit("/incidents/map/")
    layers_drawn(page, "#incident-map")
    expect(page.locator("#incident-map")).to_have_attribute("data-incidents-state", "loaded")
    # A cluster zooms in; a lone incident opens its popup (built from the report's fields).
    for _ in range(6):
        if page.locator("path.incident-dot").count():
            break
        page.locator(".incident-cluster").first.click()
        page.wait_for_timeout(800)
    page.locator("path.incident-dot").first.click()
    expect(page.locator(".leaflet-popup-content")).to_contain_text("Open the report")
    watched.check()
    watched.visit("/incidents/")
    watched.check()
    watched.visit(f"/incidents/{report.uuid}/")
    watched.check()
    log_out(page)

    # The monitor's tablet app (its own page, service worker and map).
    log_in(users["monitor"])
    watched.visit("/tablet/")
    page.locator("#new-report").click()
    expect(page.locator("#map")).to_have_attribute("data-layers-state", "loaded")
    expect(page.locator("#map .leaflet-tooltip.province-label").first).to_be_attached()
    watched.check()
    log_out(page)

    # The liaison officer's pages.
    log_in(users["liaison_officer"])
    contact = f"/liaison/contacts/{world['south'].pk}/"
    for path in [
        "/liaison/",
        contact,
        f"{contact}log/new/",
        "/liaison/map/",
        "/liaison/follow-ups/",
    ]:
        watched.visit(path)
        watched.check()
    log_out(page)

    # Headquarters: the daily summary.
    log_in(users["headquarters"])
    watched.visit("/summaries/")
    watched.check()
    summary = revision.summary
    watched.visit(reverse("summary-detail", args=[summary.year, summary.number]))
    watched.check()
    log_out(page)

    # The administrator: the admin's map widgets (change and add forms).
    administrator = users["administrator"]
    administrator.is_staff = True
    administrator.save(update_fields=["is_staff"])
    log_in(administrator)
    jermuk = ForwardBase.objects.get(name="Jermuk")
    watched.visit(f"/admin/core/forwardbase/{jermuk.pk}/change/")
    layers_drawn(page, "#id_location-map")
    expect(page.locator("#id_location-map .leaflet-marker-icon").first).to_be_visible()
    page.locator("#id_location-map").scroll_into_view_if_needed()
    shot(page, "csp-admin-forward-base")
    watched.check()
    watched.visit(f"/admin/core/restrictedzone/{zone.pk}/change/")
    layers_drawn(page, "#id_geom-map")
    expect(page.locator("#id_geom-map .leaflet-draw-draw-polygon")).to_be_visible()
    page.locator("#id_geom-map").scroll_into_view_if_needed()
    shot(page, "csp-admin-restricted-zone")
    watched.check()
    watched.visit("/admin/")
    watched.check()

    watched.assert_clean()


def test_the_api_docs_run_swagger_ui_from_our_own_files_with_no_violation(
    page, log_in, live_server, users
):
    watched = Watched(page, live_server)
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    log_in(users["duty_officer"])
    watched.visit("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("missionapp API")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    # The operations can be opened (Swagger UI's own rendering, not just the page).
    page.locator(".swagger-ui .opblock-summary").first.click()
    expect(page.locator(".swagger-ui .opblock-body").first).to_be_visible()
    shot(page, "csp-api-docs")
    watched.check()
    watched.assert_clean()
    assert requested and all(url.startswith(live_server.url) for url in requested), [
        url for url in requested if not url.startswith(live_server.url)
    ]

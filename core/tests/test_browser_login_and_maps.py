"""In a real Chromium, with no internet: logging in, the home map drawn from the mission's
own layers, and the admin's map widgets (seeing them, adding a restricted zone).

Screenshots land in /tmp/shots for a person to look at.
"""

import json
from datetime import timedelta

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.utils import timezone
from playwright.sync_api import expect

from core.models import AuditEntry, ForwardBase, Province, RestrictedZone
from tests.browser import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAYERS_TIMEOUT = 20_000
# A quiet stretch of Syunik west of Goris, away from settlements and the border line.
ZONE_RING = [(46.20, 39.50), (46.26, 39.50), (46.26, 39.55), (46.20, 39.55), (46.20, 39.50)]


def wait_for_layers(page, map_selector):
    container = page.locator(map_selector)
    expect(container).to_have_attribute("data-layers-loaded", "5", timeout=LAYERS_TIMEOUT)
    expect(container).to_have_attribute("data-layers-state", "loaded")
    return container


def restricted_zone(name="Mined fields west of Goris", **fields):
    return RestrictedZone.objects.create(
        name=name,
        reason=RestrictedZone.Reason.MINES,
        geom=MultiPolygon(Polygon(ZONE_RING), srid=4326),
        valid_from=timezone.now() - timedelta(hours=2),
        **fields,
    )


# --- (a) Logging in -----------------------------------------------------------------------


def test_a_wrong_password_is_explained_and_the_username_kept_then_the_right_one_logs_in(
    page, live_server, users, geography
):
    page.goto(f"{live_server.url}/login/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_text("missionapp", exact=True)).to_be_visible()
    shot(page, "login")

    page.get_by_label("Username").fill("t-monitor")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("alert")).to_contain_text(
        "Please enter a correct username and password"
    )
    expect(page.get_by_label("Username")).to_have_value("t-monitor")
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.get_by_label("Password")).to_be_focused()
    shot(page, "login-wrong-password")

    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    expect(page.get_by_test_id("header-user")).to_contain_text(users["monitor"].get_full_name())
    expect(page.get_by_test_id("header-roles")).to_have_text("Monitor")
    expect(page.get_by_test_id("header-base")).to_contain_text("Goris")
    expect(page.get_by_test_id("home-roles")).to_contain_text("Monitor")
    expect(page.get_by_role("heading", name="Monitor")).to_be_visible()
    expect(page.get_by_role("link", name="Administration")).to_have_count(0)  # not staff

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{live_server.url}/login/")
    assert page.blocked_requests == []


def test_login_buttons_and_fields_are_big_enough_to_touch(page, live_server, geography):
    page.set_viewport_size({"width": 800, "height": 1280})
    page.goto(f"{live_server.url}/login/")
    for control in (
        page.get_by_label("Username"),
        page.get_by_label("Password"),
        page.get_by_role("button", name="Log in"),
    ):
        assert control.bounding_box()["height"] >= 44
    shot(page, "login-800x1280")


# --- (b) The home map ---------------------------------------------------------------------


def test_the_home_map_draws_the_mission_layers_without_tiles(logged_in_page, live_server):
    zone = restricted_zone()
    restricted_zone(
        name="Lifted last week",
        valid_until=timezone.now() - timedelta(hours=1),
    )
    page = logged_in_page("team_leader")
    container = wait_for_layers(page, "#mission-map")

    assert container.locator(".leaflet-tile").count() == 0
    pane = container.locator(".leaflet-mission-provinces-pane")
    assert pane.locator("path.mission-province").count() == Province.objects.count()
    assert pane.locator("path.mission-province--sector").count() == 5
    border = container.locator(".leaflet-mission-border-pane")
    assert border.locator("path.mission-border--international").count() >= 1
    assert border.locator("path.mission-border--edge").count() >= 1
    assert container.locator("path.mission-settlement").count() > 10
    zones = container.locator(".leaflet-mission-restricted-zones-pane path.mission-restricted-zone")
    assert zones.count() == 1  # the zone in force, not the lifted one
    bases = container.locator(".leaflet-mission-forward-bases-pane .mission-base-icon")
    assert bases.count() == ForwardBase.objects.count()
    expect(container.locator(".mission-base-label", has_text="Jermuk")).to_be_visible()

    # Fitted to Armenia: the provinces fill the map, inside it.
    map_box = container.bounding_box()
    area = pane.locator("svg").bounding_box()
    assert area["width"] > 0.5 * map_box["width"] or area["height"] > 0.5 * map_box["height"]

    legend = page.locator("#mission-map-legend")
    expect(legend).to_be_visible()
    for entry in ("Mission sector", "Other province", "border", "Exclave", "Forward base"):
        expect(legend).to_contain_text(entry)
    expect(page.get_by_text("Asia/Yerevan time").first).to_be_visible()
    expect(container.locator(".leaflet-control-layers")).to_have_count(1)
    shot(page, "home-1024x768")

    # A zone tells when it is in force, in Yerevan time.
    zones.first.click()
    popup = container.locator(".leaflet-popup-content")
    expect(popup).to_contain_text(zone.name)
    expect(popup).to_contain_text("(Asia/Yerevan)")
    expect(container.locator(".leaflet-popup")).to_have_css("opacity", "1")  # faded in
    shot(page, "home-zone-popup")

    page.set_viewport_size({"width": 800, "height": 1280})
    page.reload()
    wait_for_layers(page, "#mission-map")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    shot(page, "home-800x1280")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    shot(page, "home-800x1280-scrolled")
    assert page.blocked_requests == []


def test_a_layer_that_fails_to_load_is_reported_on_the_map(logged_in_page, live_server, page):
    page.route("**/api/geography/border/", lambda route: route.fulfill(status=500, body="{}"))
    logged_in_page("monitor")
    container = page.locator("#mission-map")
    expect(container).to_have_attribute("data-layers-state", "failed", timeout=LAYERS_TIMEOUT)
    expect(container).to_have_attribute("data-layers-loaded", "4")
    expect(container).to_have_attribute("data-layers-failed", "1")
    error = container.locator(".mission-layers-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("border layer")
    shot(page, "home-layer-failed")


# --- (c) The admin's map widgets ----------------------------------------------------------


def test_an_administrator_sees_our_layers_under_the_geometry_widgets(logged_in_page, live_server):
    page = logged_in_page("administrator", is_staff=True)
    expect(page.get_by_role("link", name="Administration")).to_be_visible()

    jermuk = ForwardBase.objects.get(name="Jermuk")
    page.goto(f"{live_server.url}/admin/core/forwardbase/{jermuk.pk}/change/")
    container = wait_for_layers(page, "#id_location-map")
    assert container.locator(".leaflet-mission-provinces-pane path").count() > 0
    expect(container.locator(".leaflet-draw")).to_be_visible()  # the geometry widget
    expect(container.locator(".leaflet-marker-pane .leaflet-marker-icon")).to_have_count(1)
    assert '"Point"' in page.locator("#id_location").input_value()
    expect(container.locator(".mission-legend")).to_be_visible()
    shot(page, "admin-forward-base-jermuk")
    container.scroll_into_view_if_needed()
    shot(page, "admin-forward-base-jermuk-map")

    page.goto(f"{live_server.url}/admin/core/restrictedzone/add/")
    container = wait_for_layers(page, "#id_geom-map")
    assert container.locator(".leaflet-mission-provinces-pane path").count() > 0
    expect(container.locator(".leaflet-draw-draw-polygon")).to_be_visible()
    expect(page.get_by_text("Times are in Asia/Yerevan time.")).to_be_visible()
    shot(page, "admin-restricted-zone-add")
    container.scroll_into_view_if_needed()
    shot(page, "admin-restricted-zone-add-map")
    assert page.blocked_requests == []


# --- (d) Adding a restricted zone through the admin ---------------------------------------


def test_a_coordinator_adds_a_restricted_zone_through_the_admin(logged_in_page, live_server, users):
    coordinator = users["coordinator"]
    page = logged_in_page("coordinator", is_staff=True)
    page.goto(f"{live_server.url}/admin/core/restrictedzone/add/")
    wait_for_layers(page, "#id_geom-map")

    start = timezone.localtime() - timedelta(hours=1)
    too_early = start - timedelta(days=1)
    page.get_by_label("Name").fill("Unexploded ordnance near Shurnukh")
    page.get_by_label("Reason").select_option("mines")
    page.locator("#id_valid_from_0").fill(start.strftime("%d/%m/%Y"))
    page.locator("#id_valid_from_1").fill(start.strftime("%H:%M:%S"))
    page.locator("#id_valid_until_0").fill(too_early.strftime("%d/%m/%Y"))
    page.locator("#id_valid_until_1").fill(too_early.strftime("%H:%M:%S"))
    # Drawing with the mouse is not what is under test: put the polygon where the widget
    # keeps it, as the draw tool would.
    geometry = {"type": "MultiPolygon", "coordinates": [[[list(p) for p in ZONE_RING]]]}
    page.evaluate(
        "value => { document.getElementById('id_geom').value = value; }", json.dumps(geometry)
    )
    page.get_by_role("button", name="Save", exact=True).click()

    # Refused on the end date, with everything typed still there.
    expect(page.locator(".errornote")).to_be_visible()
    expect(page.locator(".field-valid_until .errorlist")).to_have_text(
        "The zone must end after it starts."
    )
    expect(page.get_by_label("Name")).to_have_value("Unexploded ordnance near Shurnukh")
    assert "MultiPolygon" in page.locator("#id_geom").input_value()
    shot(page, "admin-restricted-zone-refused")
    assert not RestrictedZone.objects.exists()

    page.locator("#id_valid_until_0").fill("")
    page.locator("#id_valid_until_1").fill("")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist .success")).to_contain_text("was added successfully")
    shot(page, "admin-restricted-zone-added")

    zone = RestrictedZone.objects.get(name="Unexploded ordnance near Shurnukh")
    assert zone.created_by == coordinator
    assert zone.valid_until is None
    assert zone.geom.num_geom == 1
    assert AuditEntry.objects.filter(
        model="core.restrictedzone",
        object_pk=str(zone.pk),
        action=AuditEntry.Action.CREATE,
        actor=coordinator,
        client=AuditEntry.Client.ADMIN,
    ).exists()

    # The new zone is on the map at once.
    page.goto(f"{live_server.url}/")
    container = wait_for_layers(page, "#mission-map")
    expect(container.locator("path.mission-restricted-zone")).to_have_count(1)


def test_a_monitor_is_refused_the_admin(logged_in_page, live_server):
    page = logged_in_page("monitor")
    page.goto(f"{live_server.url}/admin/core/restrictedzone/add/")
    assert page.url.startswith(f"{live_server.url}/admin/login/")
    expect(page.get_by_text("You are authenticated as t-monitor")).to_be_visible()
    assert not RestrictedZone.objects.exists()

"""The tablet keeps its sector's base layer for offline use, in a real Chromium (800×1280).

A monitor logs in with signal: the app stores the tiles of the monitor's sector (Syunik, from
the base at Goris) with the progress shown, then says "Map ready offline". Then the connection
goes: every request is aborted by `context.route`, which in Chromium also catches the
service worker's own fetches (`set_offline` alone does not). The app, reloaded, opens a new
report's map and draws the base layer's tiles from the tablet's copy. An interrupted copy
goes on where it stopped, and a complete one is not fetched again.
"""

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from core.basemap.tiles import TILE_SIZE, world_pixel
from core.models import ForwardBase
from tests.browser import CHROMIUM, CHROMIUM_ARGS, LOCAL_HOSTS, PASSWORD, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PORTRAIT = {"width": 800, "height": 1280}
TILE = re.compile(r"/tiles/(\d+)/(\d+)/(\d+)\.png")
# Every text the status line shows, in order: the progress must have been visible.
RECORD_STATUS = """
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("basemap-status");
  window.basemapTexts = [];
  if (box) new MutationObserver(() => window.basemapTexts.push(box.textContent))
    .observe(box, {childList: true, characterData: true, subtree: true});
});
"""


class Connection:
    """`online`, `offline` (every request aborted) or `tiles after N` (N tiles served, then
    the connection drops); counts the tile requests that reached the network."""

    def __init__(self):
        self.mode, self.tiles_left, self.tiles_fetched, self.blocked = "online", None, 0, []

    def handle(self, route):
        url = route.request.url
        if urlsplit(url).hostname not in LOCAL_HOSTS:
            self.blocked.append(url)
            return route.abort()
        if self.mode == "offline":
            return route.abort("internetdisconnected")
        if TILE.search(url):
            if self.tiles_left is not None:
                if self.tiles_left <= 0:
                    return route.abort("internetdisconnected")
                self.tiles_left -= 1
            self.tiles_fetched += 1
        return route.continue_()


@pytest.fixture
def tablet(browser, tmp_path):
    connection = Connection()
    context = browser.browser_type.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
        viewport=PORTRAIT, locale="en-GB", service_workers="allow",
    )  # fmt: skip
    context.route("**/*", connection.handle)
    context.add_init_script(RECORD_STATUS)
    page = context.pages[0] if context.pages else context.new_page()
    page.set_default_timeout(30_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.connection = connection
    yield page
    context.close()
    assert not errors, "JavaScript errors on the page:\n" + "\n".join(errors)
    assert not connection.blocked, f"requests to the internet: {connection.blocked}"


def log_in(page, live_server, user):
    page.goto(f"{live_server.url}/login/?next=/tablet/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/tablet/")
    expect(page.get_by_test_id("offline-ready")).to_have_attribute("data-ready", "true",
                                                                  timeout=30_000)  # fmt: skip


def test_the_monitors_sector_is_stored_and_drawn_from_the_tablet_with_no_connection(
    tablet, live_server, users, basemap
):
    monitor = users["monitor"]
    sector = monitor.forward_base.province.name
    log_in(tablet, live_server, monitor)

    status = tablet.get_by_test_id("basemap-status")
    expect(status).to_have_attribute("data-ready", "true")
    expect(status).to_have_attribute("data-state", "ready")
    expect(status).to_contain_text(f"Map ready offline · {sector}")
    plan = tablet.evaluate("MissionBasemap.describe()")["precache"]
    texts = tablet.evaluate("window.basemapTexts")
    total = f"{plan['tiles']:,}"
    assert any(re.fullmatch(rf"Map for offline use: \d+ of {total} tiles", t) for t in texts), texts
    assert tablet.connection.tiles_fetched >= plan["tiles"]
    shot(tablet, "tablet-basemap-ready-800x1280")

    tablet.connection.mode = "offline"
    tablet.reload()
    tablet.get_by_role("button", name="+ New report").click()
    map_box = tablet.locator("#map")
    expect(map_box).to_have_attribute("data-basemap", "loaded")
    # The tile of the map's zoom that holds the forward base, drawn from the stored copy.
    base = ForwardBase.objects.get(pk=monitor.forward_base_id).location
    tablet.wait_for_function("""() => document.querySelectorAll(
        '#map .mission-basemap img.leaflet-tile-loaded').length > 0""")
    tiles = tablet.evaluate("""() => Array.from(document.querySelectorAll(
        '#map .mission-basemap img.leaflet-tile')).map(img => ({
            src: img.src, loaded: img.classList.contains("leaflet-tile-loaded") && img.complete,
            width: img.naturalWidth}))""")
    zoom = int(TILE.search(tiles[0]["src"]).group(1))
    x, y = (int(v // TILE_SIZE) for v in world_pixel(base.x, base.y, zoom))
    at_base = [t for t in tiles if TILE.search(t["src"]).groups() == (str(zoom), str(x), str(y))]
    assert at_base and at_base[0]["loaded"] and at_base[0]["width"] == TILE_SIZE, tiles
    # Every tile of the sector on the map came from the copy (the others were never stored).
    (span,) = [r for r in plan["ranges"] if r["zoom"] == zoom]
    where = [(t, [int(v) for v in TILE.search(t["src"]).groups()]) for t in tiles]
    (x0, x1), (y0, y1) = span["x"], span["y"]
    in_sector = [t for t, (z, tx, ty) in where if z == zoom and x0 <= tx <= x1 and y0 <= ty <= y1]
    assert all(t["loaded"] and t["width"] == TILE_SIZE for t in in_sector), in_sector
    shot(tablet, "tablet-basemap-offline-800x1280")


def test_an_interrupted_copy_goes_on_where_it_stopped_and_a_complete_one_is_kept(
    tablet, live_server, users, basemap
):
    tablet.connection.tiles_left = 2
    log_in(tablet, live_server, users["monitor"])
    status = tablet.get_by_test_id("basemap-status")
    expect(status).to_have_attribute("data-state", "paused")
    plan = tablet.evaluate("MissionBasemap.describe()")["precache"]
    expect(status).to_contain_text(f"2 of {plan['tiles']:,} tiles")
    expect(status).to_have_attribute("data-ready", "false")

    tablet.connection.tiles_left, tablet.connection.tiles_fetched = None, 0
    tablet.reload()
    expect(status).to_have_attribute("data-state", "ready")
    assert tablet.connection.tiles_fetched == plan["tiles"] - 2  # not the two stored

    tablet.connection.tiles_fetched = 0
    tablet.reload()
    expect(status).to_have_attribute("data-state", "ready")
    expect(status).to_contain_text("Map ready offline")
    assert tablet.connection.tiles_fetched == 0

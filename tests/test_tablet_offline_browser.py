"""The tablet app offline, in a real Chromium: "a report typed offline must never be lost or
duplicated".

A monitor logs in once with signal, goes out of coverage, files twenty reports with a photo
each, reloads the app, closes the browser and opens it again (a persistent profile: IndexedDB,
the service worker and its caches survive like on a tablet), then comes back into coverage:
every report and photo reaches the server exactly once. Then a connection that drops every
third request (sometimes before the server sees it, sometimes after it stored the report and
before the answer arrives), and a report the server refuses (outside the mission area),
shown next to its field and fixed.

Offline is made the hard way: every request is aborted by `context.route`, which in Chromium
also catches the service worker's own fetches (`set_offline` alone does not), and the app
must notice by itself. Screenshots land in /tmp/shots.
"""

import hashlib
import io
import re
import time
from urllib.parse import urlsplit

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from reports.models import Attachment, IncidentReport, ReportRevision
from tests.browser import CHROMIUM, CHROMIUM_ARGS, LOCAL_HOSTS, PASSWORD, VIEWPORT, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.long]

PORTRAIT = {"width": 800, "height": 1280}
SYNC_TIMEOUT = 120_000
# Inside the mission area: around Goris (Syunik) and Jermuk (Vayots Dzor).
PLACES = [(39.5074, 46.3383), (39.8417, 45.6695)]
TBILISI = (41.7151, 44.8271)  # well outside the five border provinces


class Network:
    """What the tablet's connection does to each request: `online`, `offline` (everything
    aborted, the service worker's requests included) or `flaky` (every third API request
    fails, in turn: a 503 from a gateway, dropped before it reaches the server, dropped after
    the server answered)."""

    def __init__(self):
        self.mode = "online"
        self.api_requests = 0
        self.dropped_before = 0
        self.dropped_after = 0
        self.server_errors = 0
        self.lose_next_report_answer = False
        # (method, URL pattern): the next such request reaches the server, its answer is lost.
        self.lose_answers = []
        self.lost_answers = 0
        # (method, URL pattern): such requests get a 503 from a gateway, the server never sees them.
        self.unavailable = None
        self.refused_503 = 0
        self.blocked = []

    def handle(self, route):
        url = route.request.url
        if urlsplit(url).hostname not in LOCAL_HOSTS:
            self.blocked.append(url)
            return route.abort()
        if self.mode == "offline":
            return route.abort("internetdisconnected")
        if (
            self.unavailable
            and route.request.method == self.unavailable[0]
            and re.search(self.unavailable[1], url)
        ):
            self.refused_503 += 1
            return route.fulfill(status=503, body="Service Unavailable")
        rule = next((r for r in self.lose_answers
                     if r[0] == route.request.method and re.search(r[1], url)), None)  # fmt: skip
        if rule:
            self.lose_answers.remove(rule)
            route.fetch()
            self.lost_answers += 1
            return route.abort("connectionreset")
        if (
            self.lose_next_report_answer
            and route.request.method == "POST"
            and url.endswith("/api/reports/")
        ):
            # The report reaches the server; the signal dies before the answer comes back.
            self.lose_next_report_answer = False
            route.fetch()
            self.mode = "offline"
            return route.abort("internetdisconnected")
        if self.mode == "flaky" and "/api/" in url:
            self.api_requests += 1
            if self.api_requests % 3 == 0:
                kind = (self.api_requests // 3) % 3
                if kind == 0:
                    # A gateway on the way gives up: 503, the server never saw it.
                    self.server_errors += 1
                    return route.fulfill(status=503, body="Service Unavailable")
                if kind == 1:
                    self.dropped_before += 1
                else:
                    # The server gets the request and answers; the answer never arrives.
                    route.fetch()
                    self.dropped_after += 1
                return route.abort("connectionreset")
        return route.continue_()


@pytest.fixture
def tablet(browser, tmp_path):
    """Opens Chromium on a persistent profile; `tablet.restart()` closes it and opens it
    again on the same profile, as when the tablet is switched off and on."""

    class Tablet:
        def __init__(self):
            self.profile = tmp_path / "profile"
            self.network = Network()
            self.js_errors = []
            self.context = None
            self.page = None

        def open(self, viewport=VIEWPORT):
            self.context = browser.browser_type.launch_persistent_context(
                str(self.profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                viewport=viewport, locale="en-GB", service_workers="allow",
            )  # fmt: skip
            self.context.route("**/*", self.network.handle)
            self.context.set_offline(self.network.mode == "offline")
            self.page = self.context.pages[0] if self.context.pages else self.context.new_page()
            self.page.set_default_timeout(20_000)
            self.page.on("pageerror", lambda error: self.js_errors.append(str(error)))
            return self.page

        def restart(self):
            self.context.close()
            return self.open()

        def go_offline(self):
            self.network.mode = "offline"
            self.context.set_offline(True)

        def go_online(self):
            self.network.mode = "online"
            self.context.set_offline(False)

    device = Tablet()
    device.open()
    yield device
    device.context.close()
    assert not device.js_errors, "JavaScript errors on the page:\n" + "\n".join(device.js_errors)
    assert not device.network.blocked, f"requests to the internet: {device.network.blocked}"


def jpeg(index):
    """A small, distinct JPEG (its bytes, to hash and to upload)."""
    image = Image.new("RGB", (160, 120), ((index * 37) % 256, (index * 91) % 256, 140))
    ImageDraw.Draw(image).text((10, 50), f"incident photo {index}", fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def open_tablet_logged_in(page, live_server, user):
    page.goto(f"{live_server.url}/login/?next=/tablet/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/tablet/")
    ready = page.get_by_test_id("offline-ready")
    expect(ready).to_have_attribute("data-ready", "true", timeout=30_000)
    expect(ready).to_have_text(re.compile("Ready to work offline"))
    # The service worker controls the page and holds the map layers.
    assert page.evaluate("""async () => {
        const reg = await navigator.serviceWorker.ready;
        const layers = await Promise.all(["/api/geography/provinces/", "/api/geography/border/"]
            .map(url => caches.match(url, {ignoreVary: true})));
        return !!(reg.active && navigator.serviceWorker.controller && layers.every(Boolean));
    }""")


def file_report(page, tmp_path, index, place, photo=True, before_submit=None, saved=True):
    """Fill the form as a monitor would, with a photo; returns (uuid, the sha256 of the photo
    as the tablet queued it). With `saved` False the submission is expected to be refused on
    the tablet itself."""
    page.get_by_role("button", name="+ New report").click()
    form = page.locator("#report-form")
    expect(form).to_be_visible()
    uuid = form.get_attribute("data-uuid")
    page.get_by_label("Category").select_option("small_arms" if index % 2 else "shelling")
    page.locator(f'input[name="severity"][value="{1 + index % 3}"]').check()
    page.get_by_label("Description").fill(f"Report {index}: bursts of fire heard to the east.")
    page.get_by_label("How it was observed").select_option("heard")
    page.get_by_label("Incident latitude").fill(f"{place[0] + index * 0.0005:.6f}")
    page.get_by_label("Incident longitude").fill(f"{place[1] + index * 0.0005:.6f}")
    page.get_by_label("Bursts").fill(str(index + 1))
    digest = None
    if photo:
        data = jpeg(index)
        path = tmp_path / f"photo-{index}.jpg"
        path.write_bytes(data)
        page.locator("#f-photo").set_input_files(str(path))
        # The tablet queues the photo downsized and re-encoded (photos.js): the server must
        # store exactly the bytes the tablet queued, named by their hash.
        added = page.locator(f'#photos li[data-source-sha256="{hashlib.sha256(data).hexdigest()}"]')
        expect(added).to_be_visible()
        digest = added.get_attribute("data-sha256")
    if before_submit:
        before_submit(page)
    page.get_by_role("button", name="Submit report").click()
    if not saved:
        return uuid, digest
    expect(page.locator("#toast")).to_contain_text("Report saved on this tablet")
    expect(page.locator(f'.item[data-uuid="{uuid}"]')).to_be_visible()
    return uuid, digest


def outbox_states(page):
    return page.evaluate(
        """() => Array.from(document.querySelectorAll(".item"))
                  .map(item => [item.dataset.uuid, item.dataset.state])"""
    )


def test_twenty_reports_filed_offline_arrive_once_each_after_reloads_and_a_restart(
    tablet, live_server, users, tmp_path
):
    monitor = users["monitor"]
    page = tablet.page
    open_tablet_logged_in(page, live_server, monitor)

    # Out of coverage. Nothing tells the browser; the app must notice on its own.
    tablet.network.mode = "offline"
    page.get_by_role("button", name="Send now").click()
    expect(page.get_by_test_id("connection")).to_contain_text("Offline")
    tablet.go_offline()

    filed = {}
    for index in range(20):
        uuid, digest = file_report(page, tmp_path, index, PLACES[index % 2])
        filed[uuid] = digest
    expect(page.get_by_test_id("outbox-pending")).to_have_text("20")
    shot(page, "tablet-offline-outbox-1024x768")

    page.reload()
    expect(page.get_by_test_id("outbox-pending")).to_have_text("20")
    assert dict(outbox_states(page)) == {uuid: "waiting" for uuid in filed}

    page = tablet.restart()
    page.goto(f"{live_server.url}/tablet/")
    expect(page.get_by_test_id("outbox-pending")).to_have_text("20")
    expect(page.get_by_test_id("connection")).to_contain_text("Offline")
    assert dict(outbox_states(page)) == {uuid: "waiting" for uuid in filed}
    assert IncidentReport.objects.count() == 0

    tablet.go_online()
    expect(page.get_by_test_id("outbox-pending")).to_have_text("0", timeout=SYNC_TIMEOUT)
    assert dict(outbox_states(page)) == {uuid: "delivered" for uuid in filed}
    shot(page, "tablet-delivered-1024x768")

    reports = IncidentReport.objects.filter(author=monitor)
    assert sorted(str(u) for u in reports.values_list("uuid", flat=True)) == sorted(filed)
    attachments = Attachment.objects.filter(report__author=monitor)
    assert sorted((str(a.report.uuid), a.sha256) for a in attachments) == sorted(filed.items())
    # The service worker kept no API answer but the map layers, the base layer's description
    # and "who am I".
    cached = page.evaluate("""async () => {
        const urls = [];
        for (const name of await caches.keys()) {
            const cache = await caches.open(name);
            for (const request of await cache.keys()) urls.push(new URL(request.url).pathname);
        }
        return urls;
    }""")
    assert {url for url in cached if url.startswith("/api/")} == {
        "/api/me/",
        "/api/geography/provinces/",
        "/api/geography/border/",
        "/api/geography/settlements/",
        "/api/geography/forward-bases/",
        "/api/geography/basemap/",  # what the base layer is (its tiles: basemap-cache.js)
    }
    # The photos left the tablet once the server confirmed them.
    assert (
        page.evaluate(
            """() => TabletDB.allAttachments().then(all => all.filter(a => a.blob).length)"""
        )
        == 0
    )


def test_a_connection_that_keeps_dropping_still_files_everything_exactly_once(
    tablet, live_server, users, tmp_path
):
    monitor = users["monitor"]
    page = tablet.page
    open_tablet_logged_in(page, live_server, monitor)

    tablet.network.mode = "flaky"
    filed = {}
    for index in range(6):
        uuid, digest = file_report(page, tmp_path, index, PLACES[index % 2])
        filed[uuid] = digest
    # Let it struggle until requests were lost both ways, then let everything through.
    deadline = time.monotonic() + 60
    network = tablet.network
    while time.monotonic() < deadline and (
        min(network.server_errors, network.dropped_before, network.dropped_after) < 2
    ):
        page.wait_for_timeout(500)
    tablet.network.mode = "online"
    expect(page.get_by_test_id("outbox-pending")).to_have_text("0", timeout=SYNC_TIMEOUT)

    assert min(network.server_errors, network.dropped_before, network.dropped_after) >= 2
    reports = IncidentReport.objects.filter(author=monitor)
    assert sorted(str(u) for u in reports.values_list("uuid", flat=True)) == sorted(filed)
    attachments = Attachment.objects.filter(report__author=monitor)
    assert sorted((str(a.report.uuid), a.sha256) for a in attachments) == sorted(filed.items())


def test_a_report_outside_the_mission_area_is_refused_offline_next_to_its_location_and_kept(
    tablet, live_server, users, tmp_path
):
    monitor = users["monitor"]
    page = tablet.page
    open_tablet_logged_in(page, live_server, monitor)

    def pick_on_the_map_then_type(page):
        # The map picker: a tap places the chosen pin and fills its coordinates.
        expect(page.locator("#map")).to_have_attribute("data-layers-state", "loaded")
        page.get_by_label("Incident latitude").fill("")
        page.get_by_label("Incident longitude").fill("")
        page.locator("#map").click(position={"x": 300, "y": 150})
        expect(page.get_by_label("Incident latitude")).not_to_have_value("")
        page.locator(".segmented--mode label", has_text="Observer").click()
        page.locator("#map").click(position={"x": 200, "y": 250})
        expect(page.get_by_label("Observer latitude")).not_to_have_value("")
        page.get_by_role("button", name="Fill from the two pins").click()
        expect(page.get_by_label("Direction from observer (° from north)")).to_have_value(
            re.compile(r"^[0-9]+$")
        )
        expect(page.get_by_label("Estimated distance (m)")).to_have_value(re.compile(r"^[0-9]+$"))
        page.locator("#map").scroll_into_view_if_needed()
        shot(page, "tablet-form-map-1024x768")
        # Then the monitor types the place instead (here: somewhere the rule refuses), out
        # of coverage: the tablet refuses it itself, with the server's reason.
        tablet.go_offline()
        page.get_by_label("Incident latitude").fill(f"{TBILISI[0]}")
        page.get_by_label("Incident longitude").fill(f"{TBILISI[1]}")

    uuid, _ = file_report(
        page, tmp_path, 1, TBILISI, before_submit=pick_on_the_map_then_type, saved=False
    )
    location_errors = page.locator("#err-location")
    expect(location_errors).to_contain_text(
        "is outside the mission area and more than 25 km beyond the border"
    )
    expect(page.get_by_test_id("report-state")).to_have_text("Draft")
    expect(page.get_by_test_id("placement-note")).to_contain_text("more than 25 km beyond")
    shot(page, "tablet-refused-offline-1024x768")
    page.set_viewport_size(PORTRAIT)
    page.locator("#err-location").scroll_into_view_if_needed()
    shot(page, "tablet-refused-offline-800x1280")
    page.locator("#report-form").evaluate("form => form.closest('.editor').scrollTo(0, 0)")
    shot(page, "tablet-form-top-800x1280")
    assert IncidentReport.objects.count() == 0
    tablet.go_online()

    # Still editable: the monitor corrects the place and submits again.
    page.get_by_label("Incident latitude").fill("39.5074")
    page.get_by_label("Incident longitude").fill("46.3383")
    page.get_by_role("button", name="Submit report").click()
    expect(page.get_by_test_id("outbox-pending")).to_have_text("0", timeout=SYNC_TIMEOUT)
    expect(page.locator(f'.item[data-uuid="{uuid}"]')).to_have_attribute("data-state", "delivered")
    shot(page, "tablet-outbox-800x1280")
    report = IncidentReport.objects.get(uuid=uuid)
    assert report.author == monitor and report.sector.name == "Syunik"


@pytest.mark.parametrize("choice", ["keep the server's version", "send mine as an amendment"])
def test_a_report_changed_after_the_server_got_it_shows_the_conflict_and_lets_the_monitor_choose(
    tablet, live_server, users, tmp_path, choice
):
    monitor = users["monitor"]
    page = tablet.page
    open_tablet_logged_in(page, live_server, monitor)

    tablet.network.lose_next_report_answer = True
    uuid, _ = file_report(page, tmp_path, 3, PLACES[0], photo=False)
    expect(page.get_by_test_id("connection")).to_contain_text("Offline", timeout=SYNC_TIMEOUT)
    tablet.go_offline()
    assert IncidentReport.objects.filter(uuid=uuid).exists()  # stored; the tablet cannot know

    # Still "waiting" on the tablet: the monitor takes it back and changes the description.
    page.locator(f'.item[data-uuid="{uuid}"]').click()
    page.get_by_role("button", name="Change it before it goes").click()
    page.get_by_label("Description").fill("Corrected: the bursts came from the north-east.")
    page.get_by_role("button", name="Submit report").click()
    expect(page.locator("#toast")).to_contain_text("Report saved on this tablet")

    tablet.go_online()
    item = page.locator(f'.item[data-uuid="{uuid}"]')
    expect(item).to_have_attribute("data-state", "attention", timeout=SYNC_TIMEOUT)
    item.click()
    conflict = page.locator("#conflict")
    expect(conflict).to_be_visible()
    expect(conflict.locator("tbody tr")).to_have_count(1)
    expect(conflict.locator("tbody tr")).to_contain_text("Description")
    expect(conflict.locator("tbody tr")).to_contain_text("Corrected: the bursts came")
    expect(conflict.locator("tbody tr")).to_contain_text("Report 3: bursts of fire heard")
    shot(page, "tablet-conflict-1024x768")

    page.get_by_role("button", name=re.compile(choice, re.IGNORECASE)).click()
    expect(item).to_have_attribute("data-state", "delivered")
    expect(page.get_by_test_id("outbox-pending")).to_have_text("0")
    report = IncidentReport.objects.get(uuid=uuid)
    assert IncidentReport.objects.filter(author=monitor).count() == 1
    if choice == "keep the server's version":
        assert report.description.startswith("Report 3:")
        expect(page.get_by_label("Description")).to_have_value(report.description)
        assert not ReportRevision.objects.filter(report=report).exists()
    else:
        assert report.description.startswith("Corrected:")
        # A submitted report is amended, its first content kept in its history.
        revision = ReportRevision.objects.get(report=report)
        assert revision.content["description"].startswith("Report 3:")


def session_expired(monitor):
    Session.objects.all().delete()
    return PASSWORD


def password_changed_elsewhere(monitor):
    """The monitor changes the password on the office computer (the password page)."""
    office = Client()
    office.force_login(monitor)
    new = "a new and much longer passphrase"
    response = office.post(
        reverse("password-change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    return new


@pytest.mark.parametrize("session_end", [session_expired, password_changed_elsewhere])
def test_a_session_that_ended_offline_keeps_everything_until_the_monitor_logs_in_again(
    tablet, live_server, users, tmp_path, session_end
):
    monitor = users["monitor"]
    page = tablet.page
    open_tablet_logged_in(page, live_server, monitor)
    tablet.go_offline()
    uuid, digest = file_report(page, tmp_path, 7, PLACES[1])

    # The session ended while the tablet was in the mountains.
    password = session_end(monitor)
    tablet.go_online()
    expect(page.get_by_test_id("connection")).to_contain_text("log in again", timeout=SYNC_TIMEOUT)
    login_again = page.get_by_test_id("login-again")
    expect(login_again).to_be_visible()
    expect(page.locator(f'.item[data-uuid="{uuid}"]')).to_have_attribute("data-state", "waiting")
    expect(page.get_by_test_id("outbox-pending")).to_have_text("1")
    assert not IncidentReport.objects.exists()
    shot(page, f"tablet-{session_end.__name__}-1024x768")

    login_again.click()
    page.get_by_label("Username").fill(monitor.username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/tablet/")
    expect(page.locator(f'.item[data-uuid="{uuid}"]')).to_have_attribute(
        "data-state", "delivered", timeout=SYNC_TIMEOUT
    )
    expect(page.get_by_test_id("outbox-pending")).to_have_text("0")
    report = IncidentReport.objects.get(uuid=uuid)
    assert list(report.attachments.values_list("sha256", flat=True)) == [digest]


def test_logging_out_warns_about_unsent_reports_then_erases_the_tablets_copy(
    tablet, live_server, users, tmp_path
):
    monitor = users["monitor"]
    page = tablet.page
    open_tablet_logged_in(page, live_server, monitor)
    tablet.go_offline()
    file_report(page, tmp_path, 2, PLACES[0])

    page.get_by_role("button", name="Log out").click()
    dialog = page.locator("#logout-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Not yet on the server: 1 report and 1 photo")
    shot(page, "tablet-logout-warning-1024x768")
    dialog.get_by_role("button", name="Stay logged in").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("outbox-pending")).to_have_text("1")

    # Offline, the tablet's copy is erased; the server's session ends once it can be reached.
    page.get_by_role("button", name="Log out").click()
    dialog.get_by_role("button", name="Erase and log out").click()
    expect(page.get_by_role("heading", name="Erased from this tablet")).to_be_visible()
    left = page.evaluate("""async () => ({
        databases: (await indexedDB.databases()).map(d => d.name),
        caches: await caches.keys(),
        workers: (await navigator.serviceWorker.getRegistrations()).length,
    })""")
    assert left == {"databases": [], "caches": [], "workers": 0}

    # Online, nothing is left to lose: no warning, and the session ends.
    tablet.go_online()
    page.goto(f"{live_server.url}/tablet/")
    expect(page.get_by_test_id("outbox-pending")).to_have_text("0")
    page.get_by_role("button", name="Log out").click()
    expect(page.locator("#logout-warning")).to_be_hidden()
    page.get_by_role("button", name="Erase and log out").click()
    page.wait_for_url(re.compile(r".*/login/\?next=/tablet/$"))
    page.goto(f"{live_server.url}/tablet/")
    page.wait_for_url(re.compile(r".*/login/\?next=/tablet/$"))
    assert not IncidentReport.objects.exists()

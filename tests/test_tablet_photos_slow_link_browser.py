"""Photos on a weak link, in a real Chromium: twenty reports filed offline carrying five
photos (one large enough for several parts, one original kept at the monitor's request) go
up over an emulated slow link (CDP Network.emulateNetworkConditions: 250 kbps, 300 ms RTT),
the connection cut twice in the middle of the large photo and the browser restarted
mid-upload. Every report and photo is stored exactly once; the large photo resumed where
the server said it stood (the bytes the server received stay under 1.5x the file and no
part went back to byte 0); the progress bars moved; and a card said "Delivered" only after
the last part of its photos had arrived.

The cuts are made by `context.route` (which also catches the service worker's requests):
one loses the answer of a part the server stored, so the tablet must take the offset from
the server and not from its own notes; the other drops a part before it reaches the server.
"""

import hashlib
import io
import re
import time
from urllib.parse import urlsplit

import pytest
from PIL import Image
from playwright.sync_api import expect

from reports.models import Attachment, IncidentReport, PhotoUpload
from tests.browser import CHROMIUM, CHROMIUM_ARGS, LOCAL_HOSTS, shot
from tests.test_tablet_offline_browser import PLACES, file_report, open_tablet_logged_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.long]

PORTRAIT = {"width": 800, "height": 1280}
KBPS = 250
SLOW_LINK = {"offline": False, "latency": 300, "downloadThroughput": KBPS * 1000 / 8,
             "uploadThroughput": KBPS * 1000 / 8, "connectionType": "cellular3g"}  # fmt: skip
PART_KB = 64  # parts of 64 KB: the large photo (~570 KB) needs nine of them
SYNC_TIMEOUT = 150_000
UPLOAD_PART = re.compile(r"/api/reports/([0-9a-f-]{36})/uploads/([0-9a-f]{64})/$")

# Seen by the page every time the outbox is drawn: the first moment each card says
# "Delivered" (the browser's clock, the machine's as the server's is).
WATCH_DELIVERED = """
(() => {
  const seen = new Set();
  const look = () => {
    document.querySelectorAll(".item").forEach((item) => {
      const badge = item.querySelector(".state");
      if (badge && badge.textContent === "Delivered" && !seen.has(item.dataset.uuid)) {
        seen.add(item.dataset.uuid);
        window.cardDelivered(item.dataset.uuid, Date.now());
      }
    });
  };
  new MutationObserver(look).observe(document, { childList: true, subtree: true });
})();
"""


class SlowLink:
    """The tablet's connection: `online` or `offline` (every request aborted, the service
    worker's too), with one-off cuts of a photo's parts, and a count of the bytes of every
    part that reached the server."""

    def __init__(self):
        self.mode = "online"
        self.lose_next_part_answer = None  # a sha256: its next part is stored, the answer lost
        self.drop_next_part = None  # a sha256: its next part never reaches the server
        self.cuts = []
        self.part_bytes = {}  # sha256 → bytes of parts that reached the server
        self.part_starts = {}  # sha256 → first byte of each part that reached the server
        self.blocked = []

    def handle(self, route):
        url = route.request.url
        if urlsplit(url).hostname not in LOCAL_HOSTS:
            self.blocked.append(url)
            return route.abort()
        if self.mode == "offline":
            return route.abort("internetdisconnected")
        part = UPLOAD_PART.search(url) if route.request.method == "PUT" else None
        if part is None:
            return route.continue_()
        sha = part[2]
        if self.drop_next_part == sha:
            self.drop_next_part = None
            self.mode = "offline"
            self.cuts.append("before the server")
            return route.abort("internetdisconnected")
        body = route.request.post_data_buffer or b""
        first = int(re.match(r"bytes (\d+)-", route.request.headers["content-range"])[1])
        self.part_bytes[sha] = self.part_bytes.get(sha, 0) + len(body)
        self.part_starts.setdefault(sha, []).append(first)
        if self.lose_next_part_answer == sha:
            self.lose_next_part_answer = None
            route.fetch()  # the server stores the part; the signal dies before the answer
            self.mode = "offline"
            self.cuts.append("after the server")
            return route.abort("internetdisconnected")
        return route.continue_()


@pytest.fixture
def tablet(browser, tmp_path):
    """Chromium on a persistent profile (IndexedDB, the service worker and its caches
    survive `restart()`), portrait, every page on the slow link."""

    class Tablet:
        def __init__(self):
            self.profile = tmp_path / "profile"
            self.link = SlowLink()
            self.js_errors = []
            self.delivered_at = {}  # report uuid → ms since the epoch, first "Delivered"
            self.context = None
            self.page = None

        def open(self):
            self.context = browser.browser_type.launch_persistent_context(
                str(self.profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                viewport=PORTRAIT, locale="en-GB", service_workers="allow", has_touch=True,
            )  # fmt: skip
            self.context.route("**/*", self.link.handle)
            self.context.expose_function("cardDelivered", self._delivered)
            self.context.add_init_script(WATCH_DELIVERED)
            self.page = self.context.pages[0] if self.context.pages else self.context.new_page()
            self.page.set_default_timeout(30_000)
            self.page.on("pageerror", lambda error: self.js_errors.append(str(error)))
            return self.page

        def _delivered(self, uuid, at):
            self.delivered_at.setdefault(uuid, at)

        def slow_link(self):
            cdp = self.context.new_cdp_session(self.page)
            cdp.send("Network.enable")
            cdp.send("Network.emulateNetworkConditions", SLOW_LINK)

        def restart(self):
            self.context.close()
            return self.open()

        def signal_back(self):
            # The signal returns; the browser is told (its "online" event), as a tablet is.
            self.link.mode = "online"
            self.context.set_offline(True)
            self.context.set_offline(False)

    device = Tablet()
    device.open()
    yield device
    device.context.close()
    assert not device.js_errors, "JavaScript errors on the page:\n" + "\n".join(device.js_errors)
    assert not device.link.blocked, f"requests to the internet: {device.link.blocked}"


def noisy_photo(size, sigma, orientation=None, gps=False):
    """A camera-like JPEG that does not compress to nothing (noise over a gradient)."""
    half = (size[0] // 2, size[1] // 2)
    noise = Image.effect_noise(half, sigma)
    ramp = Image.linear_gradient("L").resize(half)
    image = Image.merge("RGB", (Image.blend(noise, ramp, 0.5), noise, ramp)).resize(size)
    exif = Image.Exif()
    exif[0x010F] = "TabletCam"  # Make
    if orientation:
        exif[0x0112] = orientation
    if gps:
        position = exif.get_ifd(0x8825)
        position.update({1: "N", 2: (39.0, 32.0, 53.0), 3: "E", 4: (46.0, 20.0, 18.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, exif=exif.tobytes())
    return out.getvalue()


def upload_of(sha):
    return PhotoUpload.objects.filter(sha256=sha).values_list("received", "size").first()


def wait_until(page, predicate, message, timeout=60):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, message
        page.wait_for_timeout(150)


def test_photos_go_up_a_slow_link_in_parts_resuming_after_cuts_and_a_restart(
    tablet, live_server, users, tmp_path, settings
):
    settings.PHOTO_UPLOAD_CHUNK_KB = PART_KB
    settings.MEDIA_ROOT = tmp_path / "media"
    monitor = users["monitor"]
    page = tablet.page
    open_tablet_logged_in(page, live_server, monitor)  # with signal: the app installs
    tablet.link.mode = "offline"  # then out of coverage
    tablet.context.set_offline(True)

    # The large photo is on its side in the file (EXIF orientation 6: turn right).
    sources = {
        0: noisy_photo((2400, 1800), 35, orientation=6),
        15: noisy_photo((640, 480), 30, gps=True),
    }
    for index in (3, 7, 11):
        sources[index] = noisy_photo((640, 480), 30 + index)
    photos = {}

    def with_photo(index):
        def attach(page):
            if index == 15:  # the monitor keeps this one's original
                page.locator("#f-photo-original").check()
            path = tmp_path / f"photo-{index}.jpg"
            path.write_bytes(sources[index])
            page.locator("#f-photo").set_input_files(str(path))
            added = page.locator(
                f'#photos li[data-source-sha256="{hashlib.sha256(sources[index]).hexdigest()}"]'
            )
            expect(added).to_be_visible()
            photos[index] = added.get_attribute("data-sha256")

        return attach

    filed = {}
    for index in range(20):
        attach = with_photo(index) if index in sources else None
        uuid, _ = file_report(page, tmp_path, index, PLACES[index % 2], photo=False,
                              before_submit=attach)  # fmt: skip
        filed[index] = uuid
    expect(page.get_by_test_id("outbox-pending")).to_have_text("20")
    large = photos[0]
    large_size = page.evaluate(
        "sha => TabletDB.allAttachments().then(all => all.find(a => a.sha256 === sha).size)", large
    )
    assert large_size > 6 * PART_KB * 1024, large_size  # several parts

    # Back in coverage, on a slow link.
    tablet.slow_link()
    started = time.monotonic()
    tablet.signal_back()

    # The large photo is on its way: its card says Sent with a progress bar, not Delivered.
    wait_until(page, lambda: (upload_of(large) or (0,))[0] >= PART_KB * 1024,
               "the large photo's first part never arrived")  # fmt: skip
    card = page.locator(f'.item[data-uuid="{filed[0]}"]')
    expect(card).to_have_attribute("data-state", "uploading")
    expect(card.locator(".state")).to_have_text("Sent")
    expect(card.get_by_test_id("photo-summary")).to_have_text("Sent · photos 0 of 1 uploaded")
    expect(card.locator("progress.item__progress")).to_have_count(1)
    # The bar moves once the server's answer to a part is back.
    page.wait_for_function(
        """([uuid, size]) => {
            const bar = document.querySelector(`.item[data-uuid="${uuid}"] progress`);
            return bar && bar.max === size && bar.value > 0 && bar.value < bar.max;
        }""",
        arg=[filed[0], large_size],
    )
    shot(page, "tablet-photo-uploading-800x1280")

    # Cut 1: a part reaches the server, its answer does not.
    tablet.link.lose_next_part_answer = large
    wait_until(page, lambda: tablet.link.mode == "offline", "no part was sent to cut")
    held = upload_of(large)[0]
    page.wait_for_timeout(1500)
    tablet.signal_back()

    # Cut 2: a part is lost before the server sees it.
    wait_until(page, lambda: upload_of(large)[0] > held, "the upload did not resume after cut 1")
    tablet.link.drop_next_part = large
    wait_until(page, lambda: tablet.link.mode == "offline", "no part was sent to cut")
    page.wait_for_timeout(1500)
    tablet.signal_back()

    # The browser is closed mid-upload and opened again.
    held = upload_of(large)[0]
    wait_until(page, lambda: upload_of(large)[0] > held, "the upload did not resume after cut 2")
    assert upload_of(large)[0] < large_size, "the photo finished before the restart"
    page = tablet.restart()
    page.goto(f"{live_server.url}/tablet/")
    tablet.slow_link()
    expect(page.get_by_test_id("outbox-pending")).not_to_have_text("0")
    # The editor shows the photo's progress too (what the tablet last heard from the server).
    page.locator(f'.item[data-uuid="{filed[0]}"]').click()
    bar = page.locator(f'#photos progress.photo__progress[data-sha256="{large}"]')
    expect(bar).to_be_visible()
    assert 0 < bar.evaluate("bar => bar.value") <= large_size
    expect(page.locator("#report-state")).to_have_text("Sent")  # the editor says so too
    shot(page, "tablet-photo-editor-progress-800x1280")

    expect(page.get_by_test_id("outbox-pending")).to_have_text("0", timeout=SYNC_TIMEOUT)
    expect(page.locator("#report-state")).to_have_text("Delivered")
    took = time.monotonic() - started
    shot(page, "tablet-photos-delivered-800x1280")

    # Every report and every photo once.
    assert tablet.link.cuts == ["after the server", "before the server"]
    reports = IncidentReport.objects.filter(author=monitor)
    assert sorted(str(u) for u in reports.values_list("uuid", flat=True)) == sorted(filed.values())
    stored = {
        (str(a.report.uuid), a.sha256): a for a in Attachment.objects.select_related("report")
    }
    assert sorted(stored) == sorted((filed[i], sha) for i, sha in photos.items())
    # Resumed, not restarted: the server received the large photo about once, and no part
    # after the first went back to byte 0.
    starts = tablet.link.part_starts[large]
    assert tablet.link.part_bytes[large] < 1.5 * large_size, (tablet.link.part_bytes, starts)
    assert starts[0] == 0 and 0 not in starts[1:], starts
    assert starts == sorted(starts), starts
    # Over a slow link indeed: a whole part took about 64 KB at 250 kbps (2 s) and more.
    durations = page.evaluate(
        """sha => performance.getEntriesByType("resource")
                  .filter(e => e.name.includes("/uploads/" + sha + "/")).map(e => e.duration)""",
        large,
    )
    assert max(durations) > PART_KB * 1024 * 8 / (KBPS * 1000) * 1000 * 0.8, durations
    assert took > large_size * 8 / (KBPS * 1000), took

    # "Delivered" only once every part of a card's photos had arrived.
    for index, sha in photos.items():
        attachment = stored[(filed[index], sha)]
        shown = tablet.delivered_at.get(filed[index])
        assert shown is not None, f"report {index} never showed Delivered"
        assert shown >= attachment.uploaded_at.timestamp() * 1000, (index, shown)
    assert set(tablet.delivered_at) == set(filed.values())

    # The large photo was downsized upright (1600 px long edge) with no EXIF; the original
    # the monitor kept lost only its position, by the same bytes on the tablet and the server.
    with Image.open(stored[(filed[0], large)].original) as image:
        assert image.size == (1200, 1600) and not image.getexif()
    kept = stored[(filed[15], photos[15])].original.read()
    assert hashlib.sha256(kept).hexdigest() == photos[15]
    assert len(kept) == len(sources[15])
    with Image.open(io.BytesIO(kept)) as image:
        assert image.getexif().get_ifd(0x8825) == {} and image.getexif()[0x010F] == "TabletCam"

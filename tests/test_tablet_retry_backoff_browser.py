"""How the tablet retries, in a real Chromium: network errors and 5xx answers wait 2 s, then
twice as long each time, with ±20 % jitter, and never more than 5 minutes; a report the
server could not take (503) is sent again once its wait is over, and filed once.

The page's clock is Playwright's fake one, so half an hour of retries takes seconds.
"""

import time

import pytest
from playwright.sync_api import expect

from reports.models import IncidentReport
from tests import test_tablet_offline_browser as offline
from tests.test_tablet_offline_browser import (
    PLACES,
    SYNC_TIMEOUT,
    file_report,
    open_tablet_logged_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

tablet = offline.tablet  # the fixture: a Chromium on a persistent profile, its network ours

BASE_MS = 2_000
CAP_MS = 5 * 60 * 1000


def nominal(attempt):
    return min(CAP_MS, BASE_MS * 2 ** (attempt - 1))


def test_the_wait_doubles_with_jitter_and_never_exceeds_five_minutes(tablet, live_server, users):
    page = tablet.page
    open_tablet_logged_in(page, live_server, users["monitor"])
    assert page.evaluate("TabletSync.BACKOFF_CAP_MS") == CAP_MS
    waits = page.evaluate("""() => Array.from({length: 40}, (_, i) => ({
        attempt: i + 1,
        lowest: TabletSync.backoff(i + 1, 0),
        middle: TabletSync.backoff(i + 1, 0.5),
        highest: TabletSync.backoff(i + 1, 0.999999),
        drawn: Array.from({length: 500}, () => TabletSync.backoff(i + 1)),
    }))""")
    for wait in waits:
        attempt = wait["attempt"]
        assert wait["middle"] == nominal(attempt), wait
        assert wait["lowest"] == min(CAP_MS, round(0.8 * BASE_MS * 2 ** (attempt - 1)))
        assert wait["highest"] == min(CAP_MS, round(1.2 * BASE_MS * 2 ** (attempt - 1)))
        assert min(wait["drawn"]) >= wait["lowest"] and max(wait["drawn"]) <= wait["highest"]
        assert max(wait["drawn"]) <= CAP_MS
    middles = [w["middle"] for w in waits]
    # It grows (doubling) until it reaches the cap, and stays there.
    assert middles[:8] == [2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000]
    assert set(middles[8:]) == {CAP_MS}
    # The jitter spreads tablets out below the cap (20 draws are not all the same)...
    assert len(set(waits[3]["drawn"])) > 20
    # ...and never pushes a wait past it: from the 9th attempt every draw is exactly 5 min.
    assert {d for w in waits[8:] for d in w["drawn"]} == {CAP_MS}


def test_a_report_the_server_cannot_take_is_retried_later_and_filed_once(
    tablet, live_server, users, tmp_path
):
    monitor = users["monitor"]
    page = tablet.page
    page.clock.install()
    open_tablet_logged_in(page, live_server, monitor)
    network = tablet.network
    network.unavailable = ("POST", r"/api/reports/$")

    def until(predicate, what, timeout_s=30):
        # Waiting inside Playwright (not time.sleep): the sync API runs the route handlers,
        # which answer the 503s, only while the test is in one of its calls.
        deadline = time.monotonic() + timeout_s
        while not predicate():
            assert time.monotonic() < deadline, f"timed out waiting for {what}: {waits}"
            page.wait_for_timeout(100)

    def idle():
        return not page.evaluate("TabletSync.status().sending")

    def record():
        return page.evaluate("uuid => TabletDB.getReport(uuid)", uuid)

    waits = []
    # Time stands still from here on, but for the test's jumps.
    until(idle, "the first rounds")
    # Half a second ahead: the page's clock runs on between reading it and pausing it, and
    # pausing in the past is refused (it happened on a loaded machine). Nothing is due then.
    page.clock.pause_at(page.evaluate("Date.now()") / 1000 + 0.5)  # seconds, as Python counts
    uuid, _ = file_report(page, tmp_path, 1, PLACES[0], photo=False)
    for attempt in range(1, 11):
        until(lambda n=attempt: record()["attempts"] >= n and network.refused_503 >= n,
              f"503 number {attempt}")  # fmt: skip
        until(idle, "the end of the round")
        assert network.refused_503 == attempt  # exactly one try per wait
        report = record()
        assert report["state"] == "waiting"
        tried_at = page.evaluate("iso => Date.parse(iso)", report["lastAttemptAt"])
        wait = report["nextAttemptAt"] - tried_at
        waits.append(wait)
        assert 0.8 * nominal(attempt) - 1 <= wait <= min(CAP_MS, 1.2 * nominal(attempt)), waits
        # Not a moment before its time, even though the app wakes up every 30 s...
        remaining = report["nextAttemptAt"] - page.evaluate("Date.now()")
        assert remaining == wait
        page.clock.fast_forward(remaining - 1)
        page.wait_for_timeout(300)
        until(idle, "a round that finds nothing due")
        assert network.refused_503 == attempt, waits
        # ...and within a second once it is due.
        page.clock.fast_forward(1_000)

    assert waits[-2:] == [CAP_MS, CAP_MS], waits
    assert max(waits) == CAP_MS
    # Each wait is longer than the one before (doubling beats the ±20 % jitter) until the cap.
    assert all(later > earlier or later == CAP_MS
               for earlier, later in zip(waits, waits[1:], strict=False)), waits  # fmt: skip

    # The server is back: the next try files the report, once.
    until(lambda: record()["attempts"] >= 11 and network.refused_503 >= 11, "the 11th try")
    until(idle, "the end of the round")
    network.unavailable = None
    page.clock.fast_forward(CAP_MS + 1_000)
    item = page.locator(f'.item[data-uuid="{uuid}"]')
    expect(item).to_have_attribute("data-state", "delivered", timeout=SYNC_TIMEOUT)
    assert IncidentReport.objects.filter(uuid=uuid).count() == 1
    assert IncidentReport.objects.filter(author=monitor).count() == 1

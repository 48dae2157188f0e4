"""Reports that review sent back, on the tablet, in a real Chromium: the monitor sees the duty
officer's questions (or the reason for a rejection), amends the report offline and resubmits
it; the amendment goes through the outbox exactly once (PATCH with If-Match, then submit),
even when the PATCH's answer is lost, and a report changed elsewhere meanwhile is shown as a
conflict, never overwritten.

Only the monitor's own reports are fetched and kept: never a colleague's, never anything else.
"""

import re
from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone
from playwright.sync_api import expect

from core.tests.factories import UserFactory
from reports.models import IncidentReport, ReportRevision
from reports.services import filing, review
from reports.tests.factories import IncidentReportFactory
from tests import test_tablet_offline_browser as offline
from tests.browser import shot
from tests.test_tablet_offline_browser import PORTRAIT, SYNC_TIMEOUT, open_tablet_logged_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

tablet = offline.tablet  # the fixture: a Chromium on a persistent profile, its network ours

QUESTIONS = "From which direction did the shelling come? How many impacts did you count?"
PATCH_OF_A_REPORT = r"/api/reports/[0-9a-f-]{36}/$"


def submitted(author, description, **extra):
    return IncidentReportFactory(
        author=author, observed_at=timezone.now() - timedelta(hours=5),
        location=Point(46.3383, 39.5074, srid=4326), category="shelling", severity=3,
        description=description, status=IncidentReport.Status.SUBMITTED,
        observation_means="heard", explosions=4, **extra,
    )  # fmt: skip


@pytest.fixture
def reviewed(users):
    """The monitor's returned and rejected reports, one still waiting for review, and a
    colleague's returned report (same forward base) that must never reach this tablet."""
    monitor, officer = users["monitor"], users["duty_officer"]
    colleague = UserFactory(username="t-colleague", roles=["monitor"])
    returned = review.report_return(
        report=submitted(monitor, "Shelling heard south-east of Goris."), by=officer,
        questions=QUESTIONS,
    )  # fmt: skip
    rejected = review.report_reject(
        report=submitted(monitor, "Explosions heard, probably a quarry."), by=officer,
        reason="Quarry blasting announced by the municipality.",
    )  # fmt: skip
    waiting = submitted(monitor, "Small-arms fire heard at night.")
    theirs = review.report_return(
        report=submitted(colleague, "A colleague's report."), by=officer, questions="Where?"
    )
    return {"returned": returned, "rejected": rejected, "waiting": waiting, "theirs": theirs}


def go_offline(tablet, page):
    tablet.network.mode = "offline"
    page.get_by_role("button", name="Send now").click()
    expect(page.get_by_test_id("connection")).to_contain_text("Offline")
    tablet.go_offline()


def assert_touch_targets(page, selector):
    """Everything a finger must hit there is at least 44 px high and wide."""
    sizes = page.eval_on_selector_all(
        selector,
        "nodes => nodes.map(n => [n.id || n.className, n.getBoundingClientRect().width,"
        " n.getBoundingClientRect().height])",
    )
    assert sizes and all(w >= 44 and h >= 44 for _, w, h in sizes), sizes


def kept_on_the_tablet(page):
    return sorted(page.evaluate("() => TabletDB.allReports().then(all => all.map(r => r.uuid))"))


def test_a_returned_report_shows_its_questions_is_amended_offline_and_resubmitted_once(
    tablet, live_server, users, reviewed
):
    monitor = users["monitor"]
    returned, rejected = reviewed["returned"], reviewed["rejected"]
    page = tablet.page
    open_tablet_logged_in(page, live_server, monitor)

    section = page.locator('.outbox__group[data-group="returned"]')
    expect(section.get_by_role("heading")).to_have_text("Returned to you (1)", timeout=SYNC_TIMEOUT)
    expect(section.locator(".item")).to_have_count(1)
    item = page.locator(f'.item[data-uuid="{returned.uuid}"]')
    expect(section.locator(f'.item[data-uuid="{returned.uuid}"]')).to_be_visible()
    expect(item.get_by_test_id("review-summary")).to_have_text(f"Questions: {QUESTIONS}")
    gone = page.locator(f'.outbox__group[data-group="rejected"] .item[data-uuid="{rejected.uuid}"]')
    expect(gone.get_by_test_id("review-summary")).to_contain_text("Quarry blasting announced")
    # Only the monitor's own reports that review sent back: not the colleague's, not the one
    # still waiting for review.
    assert kept_on_the_tablet(page) == sorted([str(returned.uuid), str(rejected.uuid)])

    page.set_viewport_size(PORTRAIT)
    shot(page, "tablet-returned-outbox-800x1280")
    assert_touch_targets(page, '.outbox__group[data-group="returned"] .item, #new-report')
    page.set_viewport_size({"width": 1024, "height": 768})

    # A rejected report: its reason, read-only.
    gone.click()
    box = page.get_by_test_id("review")
    expect(box).to_contain_text("Rejected by the duty officer")
    expect(box).to_contain_text("Quarry blasting announced by the municipality.")
    expect(page.get_by_label("Description")).to_be_disabled()
    expect(page.get_by_role("button", name="Resubmit report")).to_be_hidden()

    go_offline(tablet, page)
    item.click()
    expect(box).to_contain_text("Returned to you with questions")
    expect(box).to_contain_text(QUESTIONS)
    expect(page.get_by_label("Description")).to_have_value("Shelling heard south-east of Goris.")
    expect(page.get_by_label("Explosions")).to_have_value("4")
    shot(page, "tablet-returned-1024x768")
    assert_touch_targets(page, "#f-amend_reason, #submit-report, #save-draft, #f-patrol")

    # Without an answer it does not go.
    page.get_by_label("Explosions").fill("6")
    page.get_by_role("button", name="Resubmit report").click()
    expect(page.locator("#err-amend_reason")).to_contain_text("Answer the duty officer's questions")
    answer = "From the south-east, about 3 km away. Six impacts, counted by two of us."
    page.get_by_label("Your answer").fill(answer)
    page.get_by_label("Description").fill(
        "Shelling heard south-east of Goris: six impacts, from the south-east."
    )
    page.set_viewport_size(PORTRAIT)
    page.get_by_test_id("review").scroll_into_view_if_needed()
    shot(page, "tablet-returned-answered-800x1280")
    page.set_viewport_size({"width": 1024, "height": 768})
    page.get_by_role("button", name="Resubmit report").click()
    expect(page.locator("#toast")).to_contain_text("Report saved on this tablet")
    expect(item).to_have_attribute("data-state", "waiting")

    # Kept through a reload, offline; the server has not seen anything yet.
    page.reload()
    expect(page.locator(f'.item[data-uuid="{returned.uuid}"]')).to_have_attribute(
        "data-state", "waiting"
    )
    expect(page.get_by_test_id("outbox-pending")).to_have_text("1")
    returned.refresh_from_db()
    version_returned = returned.version
    assert returned.status == IncidentReport.Status.RETURNED
    assert not ReportRevision.objects.exists()

    # Back in coverage, and the first answer to the PATCH is lost on its way back: the
    # tablet's retry gets a 412, finds its own amendment on the server, and only submits.
    tablet.network.lose_answers.append(("PATCH", PATCH_OF_A_REPORT))
    tablet.go_online()
    page.get_by_role("button", name="Send now").click()
    item = page.locator(f'.item[data-uuid="{returned.uuid}"]')
    expect(item).to_have_attribute("data-state", "delivered", timeout=SYNC_TIMEOUT)
    expect(page.get_by_test_id("outbox-pending")).to_have_text("0")
    expect(page.locator('.outbox__group[data-group="returned"]')).to_have_count(0)
    assert tablet.network.lost_answers == 1

    returned.refresh_from_db()
    assert returned.status == IncidentReport.Status.SUBMITTED
    assert returned.explosions == 6
    assert returned.description.endswith("six impacts, from the south-east.")
    assert returned.version == version_returned + 2  # one amendment, one submission
    revision = ReportRevision.objects.get(report=returned)
    assert revision.version == version_returned
    assert revision.reason == answer
    assert revision.content["explosions"] == 4
    assert revision.content["description"] == "Shelling heard south-east of Goris."
    assert IncidentReport.objects.filter(author=monitor).count() == 3


@pytest.mark.parametrize("choice", ["keep the server's version", "send mine as an amendment"])
def test_a_returned_report_changed_elsewhere_meanwhile_is_shown_not_overwritten(
    tablet, live_server, users, reviewed, choice
):
    monitor = users["monitor"]
    returned = reviewed["returned"]
    page = tablet.page
    open_tablet_logged_in(page, live_server, monitor)
    item = page.locator(f'.item[data-uuid="{returned.uuid}"]')
    expect(item).to_have_attribute("data-state", "returned", timeout=SYNC_TIMEOUT)

    go_offline(tablet, page)
    item.click()
    page.get_by_label("Description").fill("Amended on the tablet: six impacts.")
    page.get_by_label("Your answer").fill("Six impacts.")
    page.get_by_role("button", name="Resubmit report").click()
    expect(page.locator("#toast")).to_contain_text("Report saved on this tablet")

    # Meanwhile the monitor answered from the laptop at the base.
    laptop = filing.incident_report_edit(
        report=returned, by=monitor, expected_version=returned.version,
        fields={"severity": 4}, reason="Answered from the base",
    )  # fmt: skip

    tablet.go_online()
    page.get_by_role("button", name="Send now").click()
    expect(item).to_have_attribute("data-state", "attention", timeout=SYNC_TIMEOUT)
    expect(item).to_contain_text("Differs from the server's version")
    item.click()
    conflict = page.locator("#conflict")
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text(f"it is now at version {laptop.version}")
    rows = conflict.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Description")).to_contain_text("Amended on the tablet")
    expect(rows.filter(has_text="Severity")).to_contain_text("4")
    shot(page, "tablet-returned-conflict-1024x768")
    returned.refresh_from_db()
    assert (returned.version, returned.severity) == (laptop.version, 4)
    assert returned.description == "Shelling heard south-east of Goris."
    assert returned.status == IncidentReport.Status.RETURNED

    page.get_by_role("button", name=re.compile(choice, re.I)).click()
    if choice == "keep the server's version":
        # Back to the server's copy, still returned with its questions; nothing was sent.
        expect(item).to_have_attribute("data-state", "returned")
        expect(page.get_by_label("Description")).to_have_value(
            "Shelling heard south-east of Goris."
        )
        expect(page.locator('input[name="severity"][value="4"]')).to_be_checked()
        expect(page.get_by_test_id("review")).to_contain_text(QUESTIONS)
        expect(page.get_by_test_id("outbox-pending")).to_have_text("0")
        returned.refresh_from_db()
        assert (returned.version, returned.status) == (laptop.version, "returned")
        assert ReportRevision.objects.filter(report=returned).count() == 1
        return

    # The monitor keeps theirs: it goes through the outbox, on top of the version shown.
    expect(item).to_have_attribute("data-state", "delivered", timeout=SYNC_TIMEOUT)
    returned.refresh_from_db()
    assert returned.status == IncidentReport.Status.SUBMITTED
    assert returned.description == "Amended on the tablet: six impacts."
    assert returned.severity == 3
    reasons = list(ReportRevision.objects.filter(report=returned).values_list("reason", flat=True))
    assert reasons == ["Answered from the base", "Six impacts."]

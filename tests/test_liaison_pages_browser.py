"""A liaison officer's walk through the pages in a real Chromium: search, open a contact,
log a hotline call (a mistake shown next to its field, nothing typed lost), see the overdue
follow-up on the dashboard; a monitor sees only their sector's hotline."""

import pytest
from playwright.sync_api import expect

from liaison.tests.conftest import SECRET_PHONE, SYUNIK_HOTLINE, TAVUSH_HOTLINE
from liaison.tests.conftest import world as world  # noqa: F401  (a fixture)
from patrols.tests.conftest import make_plan as make_plan  # noqa: F401
from patrols.tests.conftest import team as team  # noqa: F401

SHOTS = "/tmp/shots"  # noqa: S108  (for a person to look at)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_liaison_officer_logs_a_call_from_the_contact_page(logged_in_page, world, live_server):
    page = logged_in_page("liaison_officer")
    page.get_by_role("link", name="Liaison").click()
    page.get_by_label("Search").fill("Petros")
    page.get_by_role("button", name="Search").click()
    # The results page, once it has loaded (count() alone does not wait for it).
    expect(page.get_by_test_id("contact-row")).to_have_count(1)
    page.screenshot(path=f"{SHOTS}/liaison-contacts.png", full_page=True)
    page.get_by_role("link", name="Aram Petrosyan").click()
    assert SECRET_PHONE in page.get_by_test_id("channels").inner_text()

    page.get_by_role("link", name="New log entry").click()
    page.get_by_label("Type").select_option("hotline")
    page.get_by_label("Topic").select_option("deescalation")
    page.get_by_label("Follow-up action").fill("Report the answer to the duty officer")
    page.get_by_role("button", name="Save").click()
    summary_errors = page.locator('[data-field="summary"] .field__errors')
    assert "required" in summary_errors.inner_text()
    assert page.get_by_label("Follow-up action").input_value() == (
        "Report the answer to the duty officer"
    )
    page.screenshot(path=f"{SHOTS}/liaison-log-form-errors.png", full_page=True)
    page.get_by_label("Summary").fill("Shots heard near the pass; asked both sides to verify.")
    page.get_by_label("Follow-up owner").select_option(label="t-liaison_officer")
    page.get_by_label("Follow-up due").fill("2020-01-01")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("log-row")).to_have_count(1)
    page.screenshot(path=f"{SHOTS}/liaison-contact.png", full_page=True)

    page.goto(f"{live_server.url}/liaison/follow-ups/")
    assert "Report the answer" in page.get_by_test_id("overdue-row").inner_text()
    page.screenshot(path=f"{SHOTS}/liaison-follow-ups.png", full_page=True)
    page.goto(f"{live_server.url}/liaison/map/")
    page.screenshot(path=f"{SHOTS}/liaison-map.png", full_page=True)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_monitor_sees_only_the_hotline_of_their_sector(logged_in_page, world):
    page = logged_in_page("monitor")
    page.get_by_role("link", name="Liaison").click()
    text = page.locator("main").inner_text()
    assert SYUNIK_HOTLINE in text
    assert TAVUSH_HOTLINE not in text and "Petrosyan" not in text
    page.screenshot(path=f"{SHOTS}/liaison-monitor.png", full_page=True)

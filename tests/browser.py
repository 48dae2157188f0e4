"""Browser fixtures: a real Chromium driven by Playwright (sync API) against `live_server`.

Registered as a pytest plugin by the root conftest. A browser test looks like:

    @pytest.mark.browser
    @pytest.mark.django_db(transaction=True)
    def test_something(logged_in_page, geography):
        page = logged_in_page("monitor")

`page` fails the test on any uncaught JavaScript error and aborts every request to a host
other than this machine: the mission's pages must work with no internet (no CDN, no tiles).
"""

import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

# Playwright's sync API runs an event loop in this thread; Django then refuses ORM calls in
# the test body ("You cannot call this from an async context") unless told it is safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1024, "height": 768}
PASSWORD = "correct horse battery staple"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}
# Screenshots are written for a person to look at, never read back: /tmp is fine.
SHOTS_DIR = Path(os.environ.get("BROWSER_SHOTS_DIR", "/tmp/shots"))  # noqa: S108


def _require_chromium():
    if Path(CHROMIUM).exists() and shutil.which(CHROMIUM):
        return
    reason = f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: nothing may be skipped in CI", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    _require_chromium()
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
    except Exception:
        playwright.stop()
        raise
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def page(browser):
    """A fresh browser context and page (1024×768); no request leaves this machine.

    `page.js_errors` collects uncaught exceptions (the test fails on any) and
    `page.blocked_requests` the URLs that tried to reach the internet.
    """
    context = browser.new_context(viewport=VIEWPORT, locale="en-GB")
    blocked = []

    def only_local(route):
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    new_page = context.new_page()
    new_page.set_default_timeout(15_000)
    new_page.js_errors = []
    new_page.blocked_requests = blocked
    new_page.on("pageerror", lambda error: new_page.js_errors.append(str(error)))
    yield new_page
    errors = list(new_page.js_errors)
    context.close()
    if errors:
        pytest.fail("JavaScript errors on the page:\n" + "\n".join(errors), pytrace=False)


def second_factor_through_the_pages(target, user, home):
    """After the password: a member who needs a second factor gives it as a person would,
    with a code of the app, or sets one up first (the key read off the set-up page, the
    recovery codes acknowledged). Nothing to do for the others."""
    from core.tests.factories import code_for

    target.wait_for_url(lambda url: "/login/second-factor/" in url or url == home)
    if "/login/second-factor/set-up/" in target.url:
        secret = target.get_by_test_id("setup-secret").inner_text().replace(" ", "")
        target.get_by_label("Code").fill(code_for(secret=secret))
        target.get_by_role("button", name="Confirm").click()
        target.get_by_test_id("codes-continue").click()
    elif "/login/second-factor/" in target.url:
        target.get_by_label("Code").fill(code_for(user))
        target.get_by_role("button", name="Log in").click()


@pytest.fixture
def log_in(page, live_server):
    """Log a user in through the real login form; returns the page, on the home page."""

    def log_in_as(user, password=PASSWORD, target=page):
        target.goto(f"{live_server.url}/login/")
        target.get_by_label("Username").fill(user.get_username())
        target.get_by_label("Password").fill(password)
        target.get_by_role("button", name="Log in").click()
        second_factor_through_the_pages(target, user, f"{live_server.url}/")
        target.wait_for_url(f"{live_server.url}/")
        return target

    return log_in_as


@pytest.fixture
def logged_in_page(log_in, users):
    """`logged_in_page("coordinator")`: the page, logged in as that standing user."""

    def for_role(role, **changes):
        user = users[role]
        if changes:
            for field, value in changes.items():
                setattr(user, field, value)
            user.save(update_fields=list(changes))
        return log_in(user)

    return for_role


def shot(page, name, full_page=False):
    """Save a screenshot to /tmp/shots/<name>.png, for a person to look at.

    The viewport by default: a full-page capture resizes the viewport mid-shot, which
    reflows anything sized in vh (the home map) and shows a page no one ever sees.
    """
    SHOTS_DIR.mkdir(parents=True, exist_ok=True)
    path = SHOTS_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path

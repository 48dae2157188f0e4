"""The patrol picker on the tablet, in a real Chromium: the patrols of the monitor's forward
base around now are fetched while online and offered offline (purpose, date, team leader),
"no patrol" included; a patrol the server no longer accepts is shown next to its field."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from core.models import ForwardBase
from core.tests.factories import UserFactory
from patrols.models import PatrolPlan
from reports.models import IncidentReport
from tests import test_tablet_offline_browser as offline
from tests.browser import shot
from tests.test_tablet_offline_browser import (
    PLACES,
    PORTRAIT,
    SYNC_TIMEOUT,
    file_report,
    open_tablet_logged_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

tablet = offline.tablet  # the fixture: a Chromium on a persistent profile, its network ours
P = PatrolPlan.Status


@pytest.fixture
def patrols(users):
    monitor, leader = users["monitor"], users["team_leader"]
    away = ForwardBase.objects.exclude(pk=monitor.forward_base_id).order_by("name").first()
    away_leader = UserFactory(username="t-away-leader", roles=["team_leader"], forward_base=away)
    now = timezone.now().replace(microsecond=0)

    def plan(purpose, base, status, hours_ago, leader=leader):
        departure = now - timedelta(hours=hours_ago)
        return PatrolPlan.objects.create(
            forward_base=base, team_leader=leader, author=leader, purpose=purpose, status=status,
            planned_departure=departure, planned_return=departure + timedelta(hours=8),
        )  # fmt: skip

    return {
        "under_way": plan("Presence patrol: Kornidzor", monitor.forward_base, P.UNDER_WAY, 2),
        "notified": plan("Monitoring patrol: Tegh", monitor.forward_base, P.NOTIFIED, -4),
        "away": plan("Observation patrol: Sotk", away, P.UNDER_WAY, 1, leader=away_leader),
    }


def choose_patrol(plan):
    def choose(page):
        picker = page.get_by_label("Patrol (if on patrol)")
        label = picker.locator(f'option[value="{plan.pk}"]').inner_text()
        assert plan.purpose in label
        picker.select_option(label=label)

    return choose


def test_the_patrols_of_the_base_are_offered_offline_and_the_choice_reaches_the_server(
    tablet, live_server, users, patrols, tmp_path
):
    monitor = users["monitor"]
    page = tablet.page
    open_tablet_logged_in(page, live_server, monitor)
    expect(page.locator("body")).to_have_attribute("data-app-ready", "true")
    page.wait_for_function(
        "() => TabletDB.getMeta('patrols').then(p => !!p && p.patrols.length === 2)"
    )

    tablet.network.mode = "offline"
    page.get_by_role("button", name="Send now").click()
    expect(page.get_by_test_id("connection")).to_contain_text("Offline")
    tablet.go_offline()
    page.reload()  # the list is the tablet's own copy, not the server's answer

    page.get_by_role("button", name="+ New report").click()
    picker = page.get_by_label("Patrol (if on patrol)")
    options = picker.locator("option")
    expect(options).to_have_count(3)
    labels = options.all_inner_texts()
    assert labels[0] == "No patrol"
    leader = users["team_leader"].get_full_name()
    assert re.fullmatch(rf"\d+ \w+, \d\d:\d\d · Monitoring patrol: Tegh · {leader} \(Notified\)",
                        labels[1]), labels  # fmt: skip
    assert "Presence patrol: Kornidzor" in labels[2] and "(Under way)" in labels[2]
    assert not any("Sotk" in label for label in labels)  # another base's patrol
    expect(picker).to_have_value("")
    box = picker.bounding_box()
    assert box["height"] >= 44
    expect(page.locator("#patrol-note")).to_contain_text("2 patrols of your base around now")
    page.set_viewport_size(PORTRAIT)
    picker.scroll_into_view_if_needed()
    shot(page, "tablet-patrol-picker-800x1280")
    page.set_viewport_size({"width": 1024, "height": 768})
    page.reload()  # the blank report, never typed in, is not kept
    expect(page.get_by_test_id("outbox-pending")).to_have_text("0")

    seen, _ = file_report(page, tmp_path, 1, PLACES[0], photo=False,
                          before_submit=choose_patrol(patrols["under_way"]))  # fmt: skip
    plain, _ = file_report(page, tmp_path, 2, PLACES[0], photo=False)
    late, _ = file_report(page, tmp_path, 3, PLACES[0], photo=False,
                          before_submit=choose_patrol(patrols["notified"]))  # fmt: skip
    # The notified patrol is cancelled before the tablet comes back into coverage.
    PatrolPlan.objects.filter(pk=patrols["notified"].pk).update(status=P.CANCELLED)

    tablet.go_online()
    page.get_by_role("button", name="Send now").click()
    refused = page.locator(f'.item[data-uuid="{late}"]')
    expect(refused).to_have_attribute("data-state", "attention", timeout=SYNC_TIMEOUT)
    for uuid in (seen, plain):
        expect(page.locator(f'.item[data-uuid="{uuid}"]')).to_have_attribute(
            "data-state", "delivered"
        )
    assert IncidentReport.objects.get(uuid=seen).patrol == patrols["under_way"]
    assert IncidentReport.objects.get(uuid=plain).patrol is None
    assert not IncidentReport.objects.filter(uuid=late).exists()

    refused.click()
    expect(page.locator("#err-patrol")).to_contain_text("forward base")
    # The cancelled patrol stays chosen (the list is refreshed, the report's choice is kept).
    expect(picker).to_have_value(str(patrols["notified"].pk))
    shot(page, "tablet-patrol-refused-1024x768")
    picker.select_option(label="No patrol")
    page.get_by_role("button", name="Submit report").click()
    expect(refused).to_have_attribute("data-state", "delivered", timeout=SYNC_TIMEOUT)
    assert IncidentReport.objects.get(uuid=late).patrol is None
    assert IncidentReport.objects.filter(author=monitor).count() == 3

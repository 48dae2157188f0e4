"""A patrol from plan to acknowledgement, in a real Chromium against a real Celery worker.

The Jermuk team leader plans a patrol on the form (drawing the route with Leaflet.draw),
submits it; a coordinator approves it from the queue; the worker e-mails both parties;
Azerbaijan's officer acknowledges from the link in the message; the week calendar shows
Azerbaijan acknowledged and Armenia sent. Screenshots land in /tmp/shots.
"""

import email
import re
from datetime import timedelta
from email import policy

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from conftest import wait_for, worker_mail
from core.models import ForwardBase
from core.tests.factories import UserFactory
from patrols.models import ItineraryNotification, PatrolPlan
from patrols.services import patrol_plan_create, patrol_plan_submit
from patrols.tests.conftest import JERMUK_SOUTH, SOTK_ROAD
from patrols.tests.conftest import recipients as recipients  # noqa: F401  (a fixture)
from tests.browser import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAYERS_TIMEOUT = 20_000
# Every map made on the page, for the test to turn latitude/longitude into pixels.
CATCH_MAPS = """
window.__maps = [];
window.addEventListener("map:init", function (e) { window.__maps.push(e.detail.map); });
"""


def wait_for_layers(page, selector):
    container = page.locator(selector)
    expect(container).to_have_attribute("data-layers-state", "loaded", timeout=LAYERS_TIMEOUT)
    return container


def local_input(value):
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")


def draw_route(page, coords):
    """Draw a line with Leaflet.draw's line tool, clicking each vertex on the map."""
    # Framed clear of the top-left corner, where the tool's Finish/Cancel bar opens.
    page.evaluate(
        """coords => window.__maps[0].fitBounds(coords.map(c => [c[1], c[0]]),
               {paddingTopLeft: [300, 140], paddingBottomRight: [140, 110], animate: false})""",
        [list(c) for c in coords],
    )
    page.locator("#id_route-map .leaflet-draw-draw-polyline").click()
    box = page.locator("#id_route-map").bounding_box()
    for lon, lat in coords:
        point = page.evaluate(
            """([lat, lon]) => window.__maps[0].latLngToContainerPoint([lat, lon])""", [lat, lon]
        )
        page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
        # Leaflet.draw ignores a click within 50 ms of the last vertex.
        page.wait_for_timeout(120)
    # Clicking the last vertex again ends the line.
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])


def log_out(page):
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r".*/login/$"))


def messages_for(worker, plan):
    return [m for m in worker_mail(worker) if f"itinerary-{plan.pk}-v1-" in (m["Message-ID"] or "")]


@pytest.mark.worker
def test_a_patrol_is_planned_approved_notified_and_acknowledged(
    celery_worker, recipients, users, live_server, page, log_in, browser
):
    jermuk = ForwardBase.objects.get(name="Jermuk")
    leader = users["team_leader"]
    leader.forward_base = jermuk
    leader.save()
    UserFactory(username="t-jermuk-monitor", roles=["monitor"], forward_base=jermuk,
                first_name="Ani", last_name="Petrosyan")  # fmt: skip
    coordinator = users["coordinator"]
    departure = (timezone.localtime() + timedelta(days=10)).replace(
        hour=7, minute=30, second=0, microsecond=0
    )
    page.add_init_script(CATCH_MAPS)

    # --- The team leader plans the patrol. --------------------------------------------------
    log_in(leader)
    page.get_by_role("link", name="New patrol plan").click()
    expect(page.get_by_role("heading", name="New patrol plan")).to_be_visible()
    wait_for_layers(page, "#id_route-map")
    page.get_by_label("Purpose").fill("Monitoring patrol south of Jermuk")
    page.get_by_label("Departure (Asia/Yerevan)").fill(local_input(departure))
    page.get_by_label("Return (Asia/Yerevan)").fill(local_input(departure + timedelta(hours=7)))
    expect(page.get_by_label("Team leader")).to_have_value(str(leader.pk))
    page.get_by_label("Ani Petrosyan").check()
    shot(page, "patrol-form-empty")

    draw_route(page, JERMUK_SOUTH.coords)
    expect(page.locator("#id_route-map path.leaflet-interactive").first).to_be_visible()
    assert '"LineString"' in page.locator("#id_route").input_value()

    stops = [
        ("Jermuk base", 39.84168, 45.66949, departure),
        ("Gndevaz road junction", 39.81, 45.68, departure + timedelta(hours=1)),
        ("Turning point", 39.78, 45.69, departure + timedelta(hours=2)),
    ]
    page.get_by_role("button", name="Add a waypoint").click()
    for index, (name, lat, lon, at) in enumerate(stops):
        page.locator(f"#id_waypoints-{index}-name").fill(name)
        page.locator(f"#id_waypoints-{index}-lat").fill(str(lat))
        page.locator(f"#id_waypoints-{index}-lon").fill(str(lon))
        page.locator(f"#id_waypoints-{index}-planned_time").fill(local_input(at))
    page.locator("#id_vehicles-0-call_sign").fill("EU-JRM-11")
    page.locator("#id_vehicles-0-plate").fill("EU 011 AM")
    expect(page.locator("#id_route-map .plan-waypoint-label")).to_have_count(3)
    page.locator("#id_route-map").scroll_into_view_if_needed()
    shot(page, "patrol-form-filled")
    page.locator("[data-formset='waypoints']").scroll_into_view_if_needed()
    shot(page, "patrol-form-waypoints")

    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft plan saved")).to_be_visible()
    plan = PatrolPlan.objects.get()
    assert [w.name for w in plan.waypoints.all()] == [s[0] for s in stops]
    assert len(plan.route.coords) == len(JERMUK_SOUTH.coords)
    wait_for_layers(page, "#plan-route-map")
    shot(page, "patrol-detail-draft")

    page.get_by_role("button", name="Submit for approval").click()
    expect(page.get_by_text("Submitted for approval.")).to_be_visible()
    expect(page.get_by_test_id("plan-status")).to_have_text("Submitted")
    shot(page, "patrol-detail-submitted")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patrols").click()
    expect(page.get_by_role("heading", name="My plans")).to_be_visible()
    expect(page.get_by_test_id("plan-row")).to_contain_text("Monitoring patrol south of Jermuk")
    shot(page, "patrol-my-plans")
    log_out(page)

    # --- A coordinator (not the author) approves it. ----------------------------------------
    log_in(coordinator)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Approvals").click()
    row = page.get_by_test_id("queue-row").filter(has_text="Monitoring patrol south of Jermuk")
    expect(row).to_be_visible()
    shot(page, "patrol-approval-queue")
    row.get_by_role("link", name="Review").click()
    map_container = wait_for_layers(page, "#plan-route-map")
    expect(map_container).to_have_attribute("data-plan-route", "1")
    expect(page.get_by_test_id("findings")).to_contain_text("No problem found")
    shot(page, "patrol-review")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("as itinerary version 1")).to_be_visible()
    expect(page.get_by_text("Nothing waits for approval.")).to_be_visible()
    shot(page, "patrol-approved")

    # --- The worker tells both parties. -----------------------------------------------------
    wait_for(
        lambda: PatrolPlan.objects.get(pk=plan.pk).status == PatrolPlan.Status.NOTIFIED,
        timeout=90, message="the worker to send the itinerary to both parties",
    )  # fmt: skip
    sent = wait_for(
        lambda: len(messages_for(celery_worker, plan)) == 2 and messages_for(celery_worker, plan),
        timeout=30,
        message="both messages",
    )
    by_party = {m["Message-ID"].split("-v1-")[1].split("-itinerary")[0]: m for m in sent}
    assert set(by_party) == {"armenia", "azerbaijan"}
    assert by_party["azerbaijan"]["To"] == "desk@azerbaijan.example"

    # worker_mail parses with the compat32 policy; the modern one decodes any transfer encoding.
    message = email.message_from_string(by_party["azerbaijan"].as_string(), policy=policy.default)
    body = message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(re.escape(settings.SITE_URL.rstrip("/")) + r"(/itineraries/ack/\S+)", body)
    assert link, body

    # --- Azerbaijan's officer, who has no account here, acknowledges. -----------------------
    officer = browser.new_context(viewport={"width": 1024, "height": 768}, locale="en-GB")
    try:
        ack = officer.new_page()
        ack.goto(live_server.url + link[1])
        expect(ack.get_by_text("Republic of Azerbaijan")).to_be_visible()
        shot(ack, "patrol-ack-page")
        ack.get_by_role("button", name="Acknowledge receipt").click()
        expect(ack.get_by_text("Receipt acknowledged")).to_be_visible()
        shot(ack, "patrol-ack-done")
    finally:
        officer.close()
    az = ItineraryNotification.objects.get(version__plan=plan, party__code="azerbaijan")
    assert az.status == ItineraryNotification.Status.ACKNOWLEDGED

    # --- The calendar shows who has what. ---------------------------------------------------
    year, week, _ = timezone.localtime(plan.planned_departure).isocalendar()
    page.goto(f"{live_server.url}/patrols/calendar/?week={year}-W{week:02d}&base={jermuk.pk}")
    card = page.get_by_test_id("patrol-card").filter(has_text="Monitoring patrol south of Jermuk")
    expect(card).to_be_visible()
    expect(card.get_by_test_id("badge").filter(has_text="AZ ✓ ack")).to_be_visible()
    expect(card.get_by_test_id("badge").filter(has_text="AM sent")).to_be_visible()
    expect(card).to_contain_text("07:30–14:30")
    expect(card).to_contain_text("Notified")
    shot(page, "patrol-calendar")

    page.goto(f"{live_server.url}/patrols/{plan.pk}/")
    wait_for_layers(page, "#plan-route-map")
    page.locator("#notifications").scroll_into_view_if_needed()
    expect(
        page.locator("[data-party='azerbaijan'] [data-testid='notification-status']")
    ).to_have_text("Acknowledged")
    shot(page, "patrol-detail-notified")
    assert page.blocked_requests == []


def test_the_review_highlights_the_border_warning_and_a_refused_form_keeps_what_was_typed(
    recipients, users, live_server, page, log_in
):
    jermuk = ForwardBase.objects.get(name="Jermuk")
    leader = users["team_leader"]
    leader.forward_base = jermuk
    leader.save()
    departure = timezone.now() + timedelta(days=3)
    plan = patrol_plan_create(
        forward_base=jermuk, team_leader=leader, author=leader,
        purpose="Sotk pass road, urgent visit", route=SOTK_ROAD,
        planned_departure=departure, planned_return=departure + timedelta(hours=8),
    )  # fmt: skip
    patrol_plan_submit(plan=plan, by=leader)

    # A plan that comes back refused shows why beside each field, and keeps everything typed.
    log_in(leader)
    page.goto(f"{live_server.url}/patrols/new/")
    page.get_by_label("Purpose").fill("Patrol with a mistake")
    page.get_by_label("Departure (Asia/Yerevan)").fill(local_input(departure))
    page.get_by_label("Return (Asia/Yerevan)").fill(local_input(departure - timedelta(hours=2)))
    page.locator("#id_waypoints-0-lat").fill("39.84")
    page.locator("#id_waypoints-0-lon").fill("45.67")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_test_id("form-errors")).to_be_visible()
    expect(page.locator("#id_planned_return-errors")).to_have_text(
        "The planned return must be after the departure."
    )
    expect(page.locator("#id_waypoints-0-name-errors")).to_have_text("This field is required.")
    expect(page.get_by_label("Purpose")).to_have_value("Patrol with a mistake")
    expect(page.locator("#id_waypoints-0-lat")).to_have_value("39.84")
    wait_for_layers(page, "#id_route-map")
    shot(page, "patrol-form-refused")
    page.locator("#id_waypoints-0-name").scroll_into_view_if_needed()
    shot(page, "patrol-form-refused-waypoints")
    log_out(page)

    log_in(users["coordinator"])
    page.goto(f"{live_server.url}/patrols/{plan.pk}/review/")
    container = wait_for_layers(page, "#plan-route-map")
    expect(container).to_have_attribute("data-plan-findings", "1")
    expect(container.locator("path.plan-finding--warning")).to_have_count(1)
    expect(container.locator(".leaflet-mission-border-pane path").first).to_be_attached()
    expect(page.get_by_test_id("findings")).to_contain_text("of the border")
    expect(page.get_by_test_id("findings")).to_contain_text("Urgent override needed")
    shot(page, "patrol-review-warnings")

    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#id_approve-accept_warnings-errors")).to_contain_text(
        "Accept this warning to approve"
    )
    expect(page.locator("#id_approve-urgent_justification-errors")).to_be_visible()
    wait_for_layers(page, "#plan-route-map")
    page.get_by_role("heading", name="Decision").scroll_into_view_if_needed()
    shot(page, "patrol-review-refused")
    page.get_by_label(re.compile("I accept: .* of the border")).check()
    page.get_by_label("Why this patrol is urgent").fill("Shelling reported at Sotk overnight.")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("as itinerary version 1")).to_be_visible()
    plan.refresh_from_db()
    assert plan.status == PatrolPlan.Status.APPROVED and plan.urgent_override
    assert page.blocked_requests == []

"""The patrol pages through Django's test client: who may open what, the plan form (drawn
route, waypoints, errors next to their fields), submission, review and approval, the
notifications a liaison officer records, the week calendar, and bounded query counts."""

import json
import logging
import re
import zoneinfo
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.models import ForwardBase, RestrictedZone
from core.tests.factories import UserFactory
from patrols.models import ItineraryNotification, PatrolPlan
from patrols.tests.conftest import JERMUK_MINEFIELD, JERMUK_SOUTH, SOTK_ROAD

pytestmark = pytest.mark.django_db
YEREVAN = zoneinfo.ZoneInfo("Asia/Yerevan")
N = ItineraryNotification.Status


def as_user(client, user):
    client.force_login(user)
    return client


def local_input(value):
    """How a datetime-local input sends a time: naive, in Yerevan time."""
    return timezone.localtime(value, YEREVAN).strftime("%Y-%m-%dT%H:%M")


def text(response):
    return response.content.decode()


def errors_of(response, field_id):
    """The error messages rendered under one field (its `<id>-errors` list)."""
    match = re.search(rf'id="{re.escape(field_id)}-errors">(.*?)</ul>', text(response), re.S)
    return re.findall(r"<li>(.*?)</li>", match[1]) if match else []


def submitted(make_plan, team, **fields):
    """Submitted by its author, the team leader (PatrolPlanFactory's trait)."""
    return make_plan(submitted=True, **fields)


def approved(make_plan, team, **fields):
    return make_plan(approved=True, approver=team["coordinator"],
                     accept_warnings=["near_border", "overlap"], **fields)  # fmt: skip


def plan_form_data(team, **changes):
    departure = (timezone.now() + timedelta(days=10)).replace(second=0, microsecond=0)
    data = {
        "purpose": "Monitoring patrol south of Jermuk",
        "planned_departure": local_input(departure),
        "planned_return": local_input(departure + timedelta(hours=6)),
        "team_leader": str(team["leader"].pk),
        "monitors": [str(team["monitor"].pk)],
        "escort": "on",
        "escort_unit": "Border guard post 12",
        "route": json.dumps({"type": "LineString", "coordinates": list(JERMUK_SOUTH.coords)}),
        "waypoints-TOTAL_FORMS": "3",
        "waypoints-INITIAL_FORMS": "0",
        "waypoints-MIN_NUM_FORMS": "0",
        "waypoints-MAX_NUM_FORMS": "1000",
        "waypoints-0-name": "Jermuk base",
        "waypoints-0-lat": "39.84168",
        "waypoints-0-lon": "45.66949",
        "waypoints-0-planned_time": local_input(departure),
        "waypoints-1-name": "Turning point",
        "waypoints-1-lat": "39.78",
        "waypoints-1-lon": "45.69",
        "waypoints-1-planned_time": local_input(departure + timedelta(hours=2)),
        # The third row is left blank, as a person would: it is ignored.
        "vehicles-TOTAL_FORMS": "2",
        "vehicles-INITIAL_FORMS": "0",
        "vehicles-MIN_NUM_FORMS": "0",
        "vehicles-MAX_NUM_FORMS": "1000",
        "vehicles-0-call_sign": "EU-JRM-11",
        "vehicles-0-plate": "EU 011 AM",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


# --- Who may open what ---------------------------------------------------------------------


@pytest.fixture
def plans(make_plan, team, recipients):
    """A draft, a submitted plan and an approved one of the Jermuk base."""
    return {
        "draft": make_plan(days_ahead=20),
        "submitted": submitted(make_plan, team, days_ahead=12),
        "approved": approved(make_plan, team, days_ahead=15),
    }


def pages(plans):
    return {
        "list": reverse("patrol-list"),
        "new": reverse("patrol-new"),
        "detail": reverse("patrol-detail", args=[plans["submitted"].pk]),
        "edit": reverse("patrol-edit", args=[plans["draft"].pk]),
        "approvals": reverse("patrol-approvals"),
        "review": reverse("patrol-review", args=[plans["submitted"].pk]),
        "calendar": reverse("patrol-calendar"),
    }


ALLOWED = {
    "team_leader": {"list", "new", "detail", "edit", "calendar"},
    "monitor": {"list", "detail", "calendar"},
    "coordinator": {"list", "detail", "approvals", "review", "calendar"},
    "duty_officer": {"list", "detail", "calendar"},
    "liaison_officer": {"list", "detail", "calendar"},
    "headquarters": {"list", "detail", "calendar"},
    "outsider": set(),
}
# Another person's draft does not exist for whoever gets past the role check (404, not the
# 403 that would tell it is there).
HIDDEN = {"coordinator": {"edit"}}


@pytest.mark.parametrize("role", list(ALLOWED))
def test_each_page_opens_for_the_roles_that_use_it_and_answers_403_to_the_others(
    client, users, team, plans, recipients, role, caplog
):
    user = {"team_leader": team["leader"], "monitor": team["monitor"]}.get(role, users[role])
    as_user(client, user)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        for name, url in pages(plans).items():
            response = client.get(url)
            hidden = name in HIDDEN.get(role, ())
            expected = 200 if name in ALLOWED[role] else 404 if hidden else 403
            assert response.status_code == expected, f"{role} on {name}"
            if expected == 403:
                assert "You cannot do this" in text(response)
    refused = set(pages(plans)) - ALLOWED[role] - HIDDEN.get(role, set())
    logged = [r for r in caplog.records if r.getMessage().startswith("Forbidden")]
    assert len(logged) == len(refused)


def test_the_pages_need_a_login(client, plans):
    for url in pages(plans).values():
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_another_bases_team_leader_cannot_open_or_change_a_jermuk_plan(client, team, plans):
    goris = ForwardBase.objects.get(name="Goris")
    other = UserFactory(username="t-goris-leader", roles=["team_leader"], forward_base=goris)
    as_user(client, other)
    plan = plans["submitted"]
    assert client.get(reverse("patrol-detail", args=[plan.pk])).status_code == 403
    # Another's draft is not there for them at all; a filed plan is refused with the reason.
    assert client.get(reverse("patrol-edit", args=[plans["draft"].pk])).status_code == 404
    assert client.get(reverse("patrol-edit", args=[plan.pk])).status_code == 403
    assert (
        client.post(reverse("patrol-cancel", args=[plan.pk]), {"cancel-reason": "x"}).status_code
        == 403
    )
    assert "Monitoring patrol" not in text(client.get(reverse("patrol-list")))
    plan.refresh_from_db()
    assert plan.status == PatrolPlan.Status.SUBMITTED


def test_the_header_and_home_page_lead_to_the_patrol_pages_by_role(client, users, team):
    as_user(client, users["coordinator"])
    home = text(client.get(reverse("home")))
    for link in ("patrol-list", "patrol-approvals", "patrol-calendar"):
        assert f'href="{reverse(link)}"' in home
    assert "Approval queue" in home

    as_user(client, team["leader"])
    home = text(client.get(reverse("home")))
    assert f'href="{reverse("patrol-new")}"' in home and "My patrol plans" in home
    assert f'href="{reverse("patrol-approvals")}"' not in home

    as_user(client, users["outsider"])
    home = text(client.get(reverse("home")))
    assert f'href="{reverse("patrol-list")}"' not in home


# --- My plans ------------------------------------------------------------------------------


def test_my_plans_groups_the_bases_plans_by_status_with_departures_in_yerevan_time(
    client, team, plans
):
    response = as_user(client, team["leader"]).get(reverse("patrol-list"))
    page = text(response)
    assert "My plans" in page and "New plan" in page
    for status in ("Draft", "Submitted", "Approved"):
        assert f'id="group-{status.lower()}"' in page
    departure = timezone.localtime(plans["submitted"].planned_departure, YEREVAN)
    assert departure.strftime("%H:%M") in page
    assert "Departure (Asia/Yerevan)" in page


# --- The plan form -------------------------------------------------------------------------


def test_a_team_leader_creates_a_plan_with_a_drawn_route_and_waypoints(client, team):
    data = plan_form_data(team)
    response = as_user(client, team["leader"]).post(reverse("patrol-new"), data)
    plan = PatrolPlan.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("patrol-detail", args=[plan.pk])
    assert plan.status == PatrolPlan.Status.DRAFT
    assert plan.author == team["leader"] and plan.forward_base == team["base"]
    assert [tuple(round(c, 5) for c in xy) for xy in plan.route.coords] == [
        tuple(round(c, 5) for c in xy) for xy in JERMUK_SOUTH.coords
    ]
    assert [w.name for w in plan.waypoints.all()] == ["Jermuk base", "Turning point"]
    # Typed as Yerevan wall-clock time, stored as the same instant.
    assert local_input(plan.planned_departure) == data["planned_departure"]
    assert local_input(plan.waypoints.all()[1].planned_time) == data["waypoints-1-planned_time"]
    assert list(plan.monitors.all()) == [team["monitor"]]
    assert [(v.call_sign, v.plate) for v in plan.vehicles.all()] == [("EU-JRM-11", "EU 011 AM")]
    assert (plan.escort, plan.escort_unit) == (True, "Border guard post 12")
    assert [s.name for s in plan.sectors.all()] == ["Vayots Dzor"]

    page = text(client.get(response["Location"]))
    assert "Draft plan saved" in page and "Submit for approval" in page


def test_without_a_drawn_route_the_route_joins_the_waypoints(client, team):
    as_user(client, team["leader"]).post(reverse("patrol-new"), plan_form_data(team, route=""))
    plan = PatrolPlan.objects.get()
    assert [tuple(round(c, 5) for c in xy) for xy in plan.route.coords] == [
        (45.66949, 39.84168),
        (45.69, 39.78),
    ]


def test_a_bad_plan_shows_each_message_next_to_its_field_and_keeps_what_was_typed(client, team):
    departure = (timezone.now() + timedelta(days=10)).replace(second=0, microsecond=0)
    data = plan_form_data(
        team,
        planned_departure=local_input(departure),
        planned_return=local_input(departure - timedelta(hours=1)),
    )
    data["waypoints-1-name"] = ""
    data["escort_unit"] = ""
    response = as_user(client, team["leader"]).post(reverse("patrol-new"), data)

    assert response.status_code == 400
    assert not PatrolPlan.objects.exists()
    assert errors_of(response, "id_planned_return") == [
        "The planned return must be after the departure."
    ]
    assert errors_of(response, "id_waypoints-1-name") == ["This field is required."]
    assert errors_of(response, "id_escort_unit") == [
        "Name the host-nation unit escorting the patrol."
    ]
    assert errors_of(response, "id_purpose") == []
    page = text(response)
    assert "Nothing was saved yet" in page
    assert 'value="Monitoring patrol south of Jermuk"' in page
    assert f'value="{data["planned_departure"]}"' in page
    assert f'value="{data["planned_return"]}"' in page
    assert 'value="39.78"' in page and 'value="Jermuk base"' in page
    assert 'value="EU-JRM-11"' in page
    assert "45.69" in page and "LineString" in page  # the drawn route is still drawn


def test_a_monitor_cannot_open_or_post_the_plan_form(client, team, make_plan):
    as_user(client, team["monitor"])
    assert client.get(reverse("patrol-new")).status_code == 403
    assert client.post(reverse("patrol-new"), plan_form_data(team)).status_code == 403
    plan = make_plan()
    response = client.post(reverse("patrol-edit", args=[plan.pk]), plan_form_data(team))
    assert response.status_code == 403
    assert PatrolPlan.objects.count() == 1


def test_editing_a_draft_saves_it_and_the_form_starts_from_the_plan(client, team, make_plan):
    plan = make_plan()
    as_user(client, team["leader"])
    page = text(client.get(reverse("patrol-edit", args=[plan.pk])))
    assert 'value="Turning point"' in page and 'value="EU-JRM-11"' in page
    assert local_input(plan.planned_departure) in page

    data = plan_form_data(team, purpose="Patrol to the Vorotan valley")
    response = client.post(reverse("patrol-edit", args=[plan.pk]), data)
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.purpose == "Patrol to the Vorotan valley"
    assert plan.status == PatrolPlan.Status.DRAFT


def test_posting_the_edit_page_back_unchanged_keeps_every_waypoint_and_vehicle(
    client, team, make_plan
):
    plan = make_plan()
    as_user(client, team["leader"])
    page = text(client.get(reverse("patrol-edit", args=[plan.pk])))
    # What the browser sends back: every input of the form as rendered.
    data = dict(re.findall(r'<input type="(?:text|number|hidden|datetime-local)" name="([^"]+)"'
                           r'(?: value="([^"]*)")?', page))  # fmt: skip
    data.update(
        {
            "purpose": plan.purpose,
            "team_leader": str(team["leader"].pk),
            "monitors": [str(team["monitor"].pk)],
            "route": plan.route.geojson,
        }
    )
    assert data["waypoints-INITIAL_FORMS"] == "2" and data["waypoints-TOTAL_FORMS"] == "3"
    data["waypoints-1-name"] = "Turning point at the bridge"
    response = client.post(reverse("patrol-edit", args=[plan.pk]), data)
    assert response.status_code == 302, errors_of(response, "id_purpose")
    assert [w.name for w in plan.waypoints.all()] == ["Jermuk base", "Turning point at the bridge"]
    assert [v.call_sign for v in plan.vehicles.all()] == ["EU-JRM-11"]


def test_an_approved_plan_is_amended_and_the_parties_keep_their_version(
    client, team, make_plan, recipients
):
    plan = approved(make_plan, team)
    as_user(client, team["leader"])
    page = text(client.get(reverse("patrol-edit", args=[plan.pk])))
    assert "the parties keep version 1 until the amendment is approved" in page
    assert ">Amend</button>" in page

    data = plan_form_data(team, purpose="Amended: also the Kechut reservoir")
    response = client.post(reverse("patrol-edit", args=[plan.pk]), data, follow=True)
    plan.refresh_from_db()
    assert (plan.status, plan.version) == (PatrolPlan.Status.SUBMITTED, 1)
    assert "The parties keep version 1" in text(response)

    as_user(client, team["coordinator"])
    queue = text(client.get(reverse("patrol-approvals")))
    assert "Amendment of v1" in queue


# --- Submission ----------------------------------------------------------------------------


def test_submitting_shows_the_findings_the_coordinator_will_see(client, team, make_plan):
    plan = make_plan(route=SOTK_ROAD, days_ahead=3)
    as_user(client, team["leader"])
    response = client.post(reverse("patrol-submit", args=[plan.pk]), follow=True)
    page = text(response)
    assert "Submitted for approval." in page
    assert "The coordinator will see: Departure is less than 7 days away" in page
    assert "of the border" in page
    plan.refresh_from_db()
    assert plan.status == PatrolPlan.Status.SUBMITTED


def test_a_route_through_a_restricted_zone_is_not_submitted_and_says_why(client, team, make_plan):
    RestrictedZone.objects.create(
        name="Minefield on the Jermuk road", reason=RestrictedZone.Reason.MINES,
        geom=JERMUK_MINEFIELD, valid_from=timezone.now() - timedelta(days=1),
    )  # fmt: skip
    plan = make_plan()
    response = as_user(client, team["leader"]).post(reverse("patrol-submit", args=[plan.pk]))
    assert response.status_code == 400
    page = text(response)
    assert 'data-testid="submit-errors"' in page
    assert "crosses the restricted zone «Minefield on the Jermuk road»" in page
    assert "finding--blocking" in page
    plan.refresh_from_db()
    assert plan.status == PatrolPlan.Status.DRAFT


# --- Review and approval -------------------------------------------------------------------


def test_the_review_lists_the_sotk_road_warning_and_approval_needs_it_ticked(
    client, team, make_plan, recipients
):
    plan = submitted(make_plan, team, route=SOTK_ROAD)
    as_user(client, team["coordinator"])
    review = client.get(reverse("patrol-review", args=[plan.pk]))
    page = text(review)
    warning = re.search(r'value="(near_border:[0-9a-f]+)"', page)
    assert warning, "a checkbox for the near-border warning"
    assert "I accept: " in page and "km of the border" in page
    assert 'id="plan-route-map"' in page and "plan-map-data" in page
    assert '"code": "near_border"' in page  # its geometry goes to the map
    assert "urgent_justification" not in page  # ten days ahead: no short notice

    response = client.post(reverse("patrol-approve", args=[plan.pk]), {})
    assert response.status_code == 400
    messages = errors_of(response, "id_approve-accept_warnings")
    assert len(messages) == 1 and messages[0].startswith("Accept this warning to approve:")
    plan.refresh_from_db()
    assert plan.status == PatrolPlan.Status.SUBMITTED

    response = client.post(
        reverse("patrol-approve", args=[plan.pk]), {"approve-accept_warnings": warning[1]},
        follow=True,
    )  # fmt: skip
    plan.refresh_from_db()
    assert (plan.status, plan.version) == (PatrolPlan.Status.APPROVED, 1)
    assert "Approved «Monitoring patrol south of Jermuk» as itinerary version 1" in text(response)
    assert plan.versions.get().accepted_warnings[0]["code"] == "near_border"


def test_an_urgent_departure_needs_a_justification_to_be_approved(
    client, team, make_plan, recipients
):
    plan = submitted(make_plan, team, days_ahead=2)
    as_user(client, team["coordinator"])
    page = text(client.get(reverse("patrol-review", args=[plan.pk])))
    assert "Urgent override needed" in page and 'name="approve-urgent_justification"' in page

    response = client.post(reverse("patrol-approve", args=[plan.pk]), {})
    assert response.status_code == 400
    assert errors_of(response, "id_approve-urgent_justification") == [
        "Departure is inside the notice period: record why this patrol is urgent."
    ]
    justification = "Reported shelling near Jermuk: the parties asked for a visit."
    response = client.post(
        reverse("patrol-approve", args=[plan.pk]),
        {"approve-urgent_justification": justification},
    )
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.urgent_override and plan.override_justification == justification


def test_returning_needs_a_reason_and_the_team_leader_sees_it(client, team, make_plan):
    plan = submitted(make_plan, team)
    as_user(client, team["coordinator"])
    response = client.post(reverse("patrol-return", args=[plan.pk]), {"return-reason": " "})
    assert response.status_code == 400
    assert errors_of(response, "id_return-reason") == ["This field is required."]

    reason = "Add the plate of the second vehicle."
    response = client.post(
        reverse("patrol-return", args=[plan.pk]), {"return-reason": reason}, follow=True
    )
    assert "Returned «Monitoring patrol south of Jermuk» to its team leader." in text(response)
    plan.refresh_from_db()
    assert plan.status == PatrolPlan.Status.RETURNED
    page = text(as_user(client, team["leader"]).get(reverse("patrol-detail", args=[plan.pk])))
    assert f"Returned</strong> by the coordinator: {reason}" in page


def test_a_coordinator_cannot_approve_a_plan_they_lead(client, team, make_plan, recipients):
    plan = submitted(make_plan, team, team_leader=team["coordinator_2"])
    as_user(client, team["coordinator_2"])
    response = client.post(reverse("patrol-approve", args=[plan.pk]), {})
    assert response.status_code == 403
    assert "Four eyes" in text(response)


def test_the_queue_lists_submitted_plans_soonest_first_and_flags_escalations(
    client, team, make_plan, recipients
):
    later = submitted(make_plan, team, days_ahead=20, purpose="Later patrol")
    sooner = submitted(make_plan, team, days_ahead=9, purpose="Sooner patrol")
    late_ack = approved(make_plan, team, days_ahead=8, purpose="Patrol awaiting Azerbaijan")
    ItineraryNotification.objects.filter(version__plan=late_ack, party__code="azerbaijan").update(
        status=N.SENT, escalated_at=timezone.now()
    )
    page = text(as_user(client, team["coordinator"]).get(reverse("patrol-approvals")))
    assert page.index(sooner.purpose) < page.index(later.purpose)
    assert 'data-testid="escalations"' in page
    escalations = page[page.index('data-testid="escalations"') : page.index('id="queue-title"')]
    assert "Patrol awaiting Azerbaijan" in escalations and "AZ sent" in escalations


# --- The parties' notifications ------------------------------------------------------------


def test_a_liaison_officer_records_an_acknowledgement_and_an_objection(
    client, users, team, make_plan, recipients
):
    plan = approved(make_plan, team)
    az = ItineraryNotification.objects.get(version__plan=plan, party__code="azerbaijan")
    az.status = N.SENT
    az.save()
    as_user(client, users["liaison_officer"])
    url = reverse("patrol-notification-acknowledge", args=[az.pk])
    response = client.post(url, {f"ack-{az.pk}-method": "phone", f"ack-{az.pk}-note": ""})
    assert response.status_code == 400
    assert errors_of(response, f"id_ack-{az.pk}-note") == ["This field is required."]

    response = client.post(
        url,
        {f"ack-{az.pk}-method": "phone", f"ack-{az.pk}-note": "Duty officer Aliyev, hotline",
         f"ack-{az.pk}-at": local_input(timezone.now() - timedelta(hours=1))},
        follow=True,
    )  # fmt: skip
    assert "Acknowledgement by Republic of Azerbaijan recorded." in text(response)
    az.refresh_from_db()
    assert (az.status, az.ack_method, az.ack_recorded_by) == (
        N.ACKNOWLEDGED, "phone", users["liaison_officer"],
    )  # fmt: skip

    # A second tab, still showing the form: the page says why nothing was recorded.
    stale = client.post(url, {f"ack-{az.pk}-method": "email", f"ack-{az.pk}-note": "Tab two"},
                        follow=True)  # fmt: skip
    assert ("Nothing recorded for Republic of Azerbaijan: it was already acknowledged."
            in text(stale))  # fmt: skip
    az.refresh_from_db()
    assert (az.ack_method, az.ack_note) == ("phone", "Duty officer Aliyev, hotline")

    url = reverse("patrol-notification-objection", args=[az.pk])
    client.post(url, {f"objection-{az.pk}-text": "Objects to waypoint 2 near the line."})
    page = text(client.get(reverse("patrol-detail", args=[plan.pk])))
    assert "Objects to waypoint 2 near the line." in page


def test_only_a_coordinator_retries_a_failed_notification(
    client, users, team, make_plan, recipients
):
    plan = approved(make_plan, team)
    am = ItineraryNotification.objects.get(version__plan=plan, party__code="armenia")
    am.status, am.attempts, am.last_error = N.FAILED, 6, "SMTP 550"
    am.save()
    url = reverse("patrol-notification-retry", args=[am.pk])
    assert as_user(client, users["liaison_officer"]).post(url).status_code == 403
    assert as_user(client, team["leader"]).post(url).status_code == 403
    page = text(as_user(client, team["coordinator"]).get(reverse("patrol-detail", args=[plan.pk])))
    assert "Retry sending" in page
    response = client.post(url, follow=True)
    assert "Sending to Republic of Armenia again." in text(response)
    am.refresh_from_db()
    assert am.status == N.QUEUED


# --- The patrol itself ---------------------------------------------------------------------


def test_the_team_leader_cancels_with_a_reason_and_starts_only_when_notified(
    client, team, make_plan, recipients
):
    plan = approved(make_plan, team)
    as_user(client, team["leader"])
    page = text(client.get(reverse("patrol-detail", args=[plan.pk])))
    assert "The patrol waits until every party has been sent the itinerary." in page
    response = client.post(reverse("patrol-start", args=[plan.pk]), follow=True)
    assert "Not every party has been sent the itinerary yet" in text(response)

    response = client.post(reverse("patrol-cancel", args=[plan.pk]), {"cancel-reason": ""})
    assert response.status_code == 400
    assert errors_of(response, "id_cancel-reason") == ["This field is required."]
    response = client.post(
        reverse("patrol-cancel", args=[plan.pk]), {"cancel-reason": "Snow on the pass"},
        follow=True,
    )  # fmt: skip
    assert "Patrol cancelled." in text(response)
    plan.refresh_from_db()
    assert (plan.status, plan.status_reason) == (PatrolPlan.Status.CANCELLED, "Snow on the pass")


def test_a_notified_patrol_is_started_and_aborted_with_a_reason(
    client, team, make_plan, recipients
):
    plan = approved(make_plan, team)
    ItineraryNotification.objects.filter(version__plan=plan).update(status=N.SENT)
    PatrolPlan.objects.filter(pk=plan.pk).update(status=PatrolPlan.Status.NOTIFIED)
    as_user(client, team["leader"])
    client.post(reverse("patrol-start", args=[plan.pk]))
    plan.refresh_from_db()
    assert plan.status == PatrolPlan.Status.UNDER_WAY
    page = text(client.get(reverse("patrol-detail", args=[plan.pk])))
    assert ">Complete</button>" in page and "Abort…" in page
    client.post(reverse("patrol-abort", args=[plan.pk]), {"abort-reason": "Road blocked"})
    plan.refresh_from_db()
    assert (plan.status, plan.status_reason) == (PatrolPlan.Status.ABORTED, "Road blocked")


# --- The week calendar ---------------------------------------------------------------------


def iso_week(value):
    year, week, _ = timezone.localtime(value, YEREVAN).isocalendar()
    return f"{year}-W{week:02d}"


def day_of_card(page):
    """The date of the calendar column holding the (only) patrol card."""
    days = page.split('data-date="')[1:]
    (holding,) = [chunk for chunk in days if 'data-testid="patrol-card"' in chunk]
    return date.fromisoformat(holding[:10])


def test_the_calendar_shows_each_patrol_with_its_parties_badges(
    client, users, team, make_plan, recipients
):
    plan = approved(make_plan, team)
    rows = ItineraryNotification.objects.filter(version__plan=plan)
    rows.filter(party__code="armenia").update(status=N.SENT)
    rows.filter(party__code="azerbaijan").update(status=N.ACKNOWLEDGED,
                                                 acknowledged_at=timezone.now())  # fmt: skip
    week = iso_week(plan.planned_departure)
    for user in (team["leader"], users["coordinator"]):
        response = as_user(client, user).get(
            reverse("patrol-calendar"), {"week": week, "base": team["base"].pk}
        )
        page = text(response)
        assert response.status_code == 200
        assert page.count('data-testid="patrol-card"') == 1
        assert "AM sent" in page and "AZ ✓ ack" in page
        assert day_of_card(page) == timezone.localtime(plan.planned_departure, YEREVAN).date()
        assert "Asia/Yerevan" in page
    year, number = week.split("-W")
    previous = (date.fromisocalendar(int(year), int(number), 1) - timedelta(days=7)).isocalendar()
    assert f"?week={previous[0]}-W{previous[1]:02d}&amp;base={team['base'].pk}" in page


def test_a_bad_week_is_explained_and_this_week_shown(client, users):
    response = as_user(client, users["coordinator"]).get(
        reverse("patrol-calendar"), {"week": "next tuesday"}
    )
    assert response.status_code == 400
    assert "Give the week as YYYY-Www" in text(response)


# --- Query counts --------------------------------------------------------------------------


def first_day_of_a_coming_week():
    """Days from now to the same time of day on a Monday (mission time) two to three weeks
    ahead: plans `start + 0..5` days ahead then all fall in that one calendar week, whatever
    today's weekday (with a fixed offset, the first plans missed the week on some days)."""
    return 14 + (7 - timezone.localtime(timezone.now(), YEREVAN).weekday()) % 7


def many_plans(make_plan, team, count, start):
    for i in range(count):
        approved(make_plan, team, days_ahead=start + i % 5, purpose=f"Approved patrol {i}")
        submitted(make_plan, team, days_ahead=start + 1 + i % 5, purpose=f"Submitted patrol {i}")


def count_queries(client, url, params=None):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, params or {}).status_code == 200
    return len(queries)


@pytest.mark.parametrize("page", ["patrol-list", "patrol-calendar", "patrol-approvals"])
def test_list_calendar_and_queue_cost_the_same_queries_for_two_plans_or_ten(
    client, team, make_plan, recipients, page, django_assert_max_num_queries
):
    start = first_day_of_a_coming_week()
    week = iso_week(timezone.now() + timedelta(days=start))
    params = {"week": week} if page == "patrol-calendar" else {}
    as_user(client, team["coordinator"])
    many_plans(make_plan, team, 1, start)
    few = count_queries(client, reverse(page), params)
    # The first count is of a page that shows plans (prefetches skip an empty list).
    assert "Submitted patrol 0" in text(client.get(reverse(page), params))
    many_plans(make_plan, team, 4, start)
    with django_assert_max_num_queries(15):
        many = count_queries(client, reverse(page), params)
    assert many == few

"""The patrol API: per-role permissions, the common error format, files, bounded lists."""

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from patrols.models import ItineraryNotification, PatrolPlan
from patrols.services import patrol_plan_approve, patrol_plan_submit
from patrols.services.notifications import notification_send
from patrols.tests.conftest import SOTK_ROAD

pytestmark = pytest.mark.django_db


def as_user(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def plan_payload(team, days=10, route=SOTK_ROAD):
    departure = timezone.now() + timedelta(days=days)
    return {
        "forward_base": team["base"].pk,
        "team_leader": team["leader"].username,
        "monitors": [team["monitor"].username],
        "purpose": "Presence patrol to the Sotk pass",
        "planned_departure": departure.isoformat(),
        "planned_return": (departure + timedelta(hours=6)).isoformat(),
        "route": {"type": "LineString", "coordinates": [list(c) for c in route.coords]},
        "waypoints": [
            {"name": "Vardenis", "lat": 40.18329, "lon": 45.73053},
            {"name": "Sotk", "lat": 40.20306, "lon": 45.86472},
        ],
        "vehicles": [{"call_sign": "EU-MRT-21", "plate": "EU 021 AM"}],
    }


def test_a_team_leader_plans_submits_and_a_coordinator_approves_through_the_api(team, recipients):
    leader, coordinator = as_user(team["leader"]), as_user(team["coordinator"])
    created = leader.post(reverse("api-patrols"), plan_payload(team), format="json")
    assert created.status_code == 201, created.json()
    plan = created.json()
    assert plan["status"] == "draft" and plan["sectors"] == ["Gegharkunik"]
    assert [w["name"] for w in plan["waypoints"]] == ["Vardenis", "Sotk"]

    findings = leader.post(reverse("api-patrol-submit", args=[plan["id"]])).json()
    assert [f["code"] for f in findings] == ["near_border"]

    refused = coordinator.post(reverse("api-patrol-approve", args=[plan["id"]]), {},
                               format="json")  # fmt: skip
    assert refused.status_code == 400
    assert list(refused.json()["errors"]) == ["accept_warnings"]

    approved = coordinator.post(reverse("api-patrol-approve", args=[plan["id"]]),
                                {"accept_warnings": ["near_border"]}, format="json")  # fmt: skip
    assert approved.status_code == 200
    body = approved.json()
    assert body["status"] == "approved" and body["version"] == 1
    assert sorted((n["party_code"], n["status"]) for n in body["notifications"]) == [
        ("armenia", "queued"), ("azerbaijan", "queued"),
    ]  # fmt: skip


def test_bad_input_names_the_fields_and_stores_nothing(team):
    payload = plan_payload(team)
    payload["route"] = {"type": "Point", "coordinates": [45.7, 40.2]}
    payload["waypoints"][1]["lat"] = 123
    payload["vehicles"] = [{"call_sign": "EU-1"}]
    response = as_user(team["leader"]).post(reverse("api-patrols"), payload, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "route": ["Give a GeoJSON LineString, not «Point»."],
        "waypoints.1.lat": ["The latitude must lie between -90 and 90 degrees."],
        "vehicles.0.plate": ["This field is required."],
    }
    assert not PatrolPlan.objects.exists()


def test_an_edit_or_amendment_with_an_incomplete_item_names_its_missing_fields(team, make_plan):
    # A PATCH is partial, its items are not: a waypoint or vehicle lacking a field is a 400.
    plan = make_plan(author=team["leader"])
    before = [(w.name, w.location.wkt) for w in plan.waypoints.all()]
    leader = as_user(team["leader"])
    for url, call in ((reverse("api-patrol", args=[plan.pk]), leader.patch),
                      (reverse("api-patrol-amend", args=[plan.pk]), leader.post)):  # fmt: skip
        body = {"waypoints": [{"lat": 39.2, "lon": 46.4}], "vehicles": [{"call_sign": "K1"}]}
        response = call(url, body, format="json")
        assert response.status_code == 400, (url, response.content)
        assert response.json()["errors"] == {
            "waypoints.0.name": ["This field is required."],
            "vehicles.0.plate": ["This field is required."],
        }
    assert [(w.name, w.location.wkt) for w in plan.waypoints.all()] == before  # nothing kept


def test_a_return_before_departure_is_refused_naming_the_problem(team):
    payload = plan_payload(team)
    payload["planned_return"] = payload["planned_departure"]
    response = as_user(team["leader"]).post(reverse("api-patrols"), payload, format="json")
    assert response.status_code == 400
    assert "return must be after the departure" in response.json()["detail"]


def test_roles_that_do_not_plan_are_refused(team, users):
    for role in ("monitor", "duty_officer", "headquarters", "outsider"):
        response = as_user(users[role]).post(reverse("api-patrols"), plan_payload(team),
                                             format="json")  # fmt: skip
        assert response.status_code == 403, role


def test_four_eyes_through_the_api(team, recipients, make_plan):
    plan = make_plan(author=team["coordinator"])
    patrol_plan_submit(plan=plan, by=team["coordinator"])
    response = as_user(team["coordinator"]).post(reverse("api-patrol-approve", args=[plan.pk]),
                                                 {}, format="json")  # fmt: skip
    # A refusal of the person, not of the input: 403.
    assert response.status_code == 403 and "Four eyes" in response.json()["detail"]


def test_plans_are_visible_by_role_and_the_list_costs_a_bounded_number_of_queries(
    team, users, make_plan, recipients, django_assert_max_num_queries
):
    for days in (10, 11, 12, 13):
        plan = make_plan(days_ahead=days)
        patrol_plan_submit(plan=plan, by=team["leader"])
        patrol_plan_approve(plan=plan, by=team["coordinator"])
    draft = make_plan(days_ahead=20)
    with django_assert_max_num_queries(12):
        response = as_user(team["coordinator"]).get(reverse("api-patrols"))
    listed = {p["id"] for p in response.json()["results"]}
    assert len(listed) == 4 and draft.pk not in listed  # nobody else's drafts
    assert draft.pk in {p["id"] for p in as_user(team["leader"]).get(
        reverse("api-patrols")).json()["results"]}  # fmt: skip
    assert as_user(users["outsider"]).get(reverse("api-patrols")).json()["count"] == 0


def test_the_itinerary_downloads_as_gpx_and_pdf(team, recipients, make_plan):
    plan = make_plan()
    patrol_plan_submit(plan=plan, by=team["leader"])
    patrol_plan_approve(plan=plan, by=team["coordinator"])
    client = as_user(team["leader"])
    gpx = client.get(reverse("api-patrol-gpx", args=[plan.pk]))
    assert gpx.status_code == 200 and gpx["Content-Type"] == "application/gpx+xml"
    assert b"<rtept" in gpx.content and "v1.gpx" in gpx["Content-Disposition"]
    pdf = client.get(reverse("api-patrol-pdf", args=[plan.pk]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert client.get(reverse("api-patrol-pdf", args=[plan.pk]), {"version": 9}).status_code == 404


def test_track_and_restrictions_from_the_tablet(team, recipients, make_plan):
    plan = make_plan()
    patrol_plan_submit(plan=plan, by=team["leader"])
    patrol_plan_approve(plan=plan, by=team["coordinator"])
    for n in ItineraryNotification.objects.filter(version__plan=plan):
        notification_send(notification_id=n.pk, claim="t")
    leader = as_user(team["leader"])
    assert leader.post(reverse("api-patrol-start", args=[plan.pk])).json()["status"] == "under_way"
    points = {"points": [{"uuid": str(uuid.uuid4()), "recorded_at": timezone.now().isoformat(),
                          "lat": 39.84, "lon": 45.67}]}  # fmt: skip
    first = leader.post(reverse("api-patrol-track", args=[plan.pk]), points, format="json")
    again = leader.post(reverse("api-patrol-track", args=[plan.pk]), points, format="json")
    assert (first.json()["stored"], again.json()["stored"]) == (1, 0)

    restriction = {
        "category": "delay", "actor": "police", "occurred_at": timezone.now().isoformat(),
        "duration_minutes": 25, "reason_given": "Document check",
        "location": {"type": "Point", "coordinates": [45.68, 39.81]},
    }  # fmt: skip
    created = as_user(team["monitor"]).post(reverse("api-patrol-restrictions", args=[plan.pk]),
                                            restriction, format="json")  # fmt: skip
    assert created.status_code == 201 and created.json()["location_phrase"]
    listed = leader.get(reverse("api-patrol-restrictions", args=[plan.pk])).json()
    assert [r["category"] for r in listed] == ["delay"]


def test_liaison_officers_record_acknowledgements_and_monitors_cannot(
    team, users, recipients, make_plan
):
    plan = make_plan()
    patrol_plan_submit(plan=plan, by=team["leader"])
    patrol_plan_approve(plan=plan, by=team["coordinator"])
    row = ItineraryNotification.objects.filter(version__plan=plan, party__code="azerbaijan").get()
    notification_send(notification_id=row.pk, claim="t")
    url = reverse("api-notification-acknowledge", args=[row.pk])
    body = {"method": "phone", "note": "Border service duty officer, hotline"}
    assert as_user(users["monitor"]).post(url, body, format="json").status_code == 403
    missing = as_user(users["liaison_officer"]).post(url, {"method": "phone"}, format="json")
    assert missing.json()["errors"] == {"note": ["This field is required."]}
    done = as_user(users["liaison_officer"]).post(url, body, format="json")
    assert done.status_code == 200 and done.json()["status"] == "acknowledged"
    listed = as_user(users["coordinator"]).get(reverse("api-notifications"),
                                               {"status": "acknowledged"}).json()  # fmt: skip
    assert [n["id"] for n in listed["results"]] == [row.pk]

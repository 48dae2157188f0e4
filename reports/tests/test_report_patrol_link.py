"""A report names the patrol it was seen from: one of the reporter's forward base (or one they
were on) that went out; the tablet keeps the patrols around now for its picker."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import ForwardBase
from core.tests.factories import UserFactory
from patrols.models import PatrolPlan
from reports.models import IncidentReport
from reports.tests.test_report_filing_api import as_user, report_body

P = PatrolPlan.Status
PASSWORD = "correct horse battery staple"


@pytest.fixture
def patrols(users):
    """Patrols of the monitor's base and of another base, in the states that matter."""
    monitor = users["monitor"]
    home = monitor.forward_base
    away = ForwardBase.objects.exclude(pk=home.pk).order_by("name").first()
    leader = users["team_leader"]
    other_leader = UserFactory(username="t-away-leader", roles=["team_leader"], forward_base=away)
    now = timezone.now()

    def plan(name, base, status, departed_hours_ago, hours=8, ended=None, leader=leader):
        departure = now - timedelta(hours=departed_hours_ago)
        return PatrolPlan.objects.create(
            forward_base=base, team_leader=leader, author=leader, purpose=name, status=status,
            planned_departure=departure, planned_return=departure + timedelta(hours=hours),
            ended_at=ended,
        )  # fmt: skip

    return {
        "under_way": plan("Presence patrol: Kornidzor", home, P.UNDER_WAY, 2),
        "notified": plan("Monitoring patrol: Tegh", home, P.NOTIFIED, -3),
        "completed": plan(
            "Observation patrol: Khnatsakh", home, P.COMPLETED, 30, ended=now - timedelta(hours=22)
        ),  # fmt: skip
        "completed_long_ago": plan(
            "Presence patrol: Vorotan", home, P.COMPLETED, 24 * 6, ended=now - timedelta(days=6)
        ),  # fmt: skip
        "cancelled": plan("Cancelled patrol", home, P.CANCELLED, 1),
        "draft": plan("Draft patrol", home, P.DRAFT, -20),
        "away": plan("Another base's patrol", away, P.UNDER_WAY, 1, leader=other_leader),
    }


@pytest.mark.django_db
def test_a_report_names_a_patrol_of_the_reporters_base(users, patrols):
    body = report_body(patrol=patrols["under_way"].pk)
    response = as_user(users["monitor"]).post(reverse("api-incident-reports"), body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["patrol"] == patrols["under_way"].pk


@pytest.mark.django_db
@pytest.mark.parametrize("which", ["away", "cancelled", "draft"])
def test_a_patrol_the_reporter_may_not_link_is_refused_naming_the_patrol_field(
    users, patrols, which
):
    body = report_body(patrol=patrols[which].pk)
    response = as_user(users["monitor"]).post(reverse("api-incident-reports"), body, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["patrol"]
    assert "forward base" in response.json()["errors"]["patrol"][0]
    assert not IncidentReport.objects.filter(uuid=body["uuid"]).exists()


@pytest.mark.django_db
def test_a_patrol_of_another_base_is_refused_on_an_amendment_too(users, patrols):
    client = as_user(users["monitor"])
    body = report_body(status="submitted")
    client.post(reverse("api-incident-reports"), body, format="json")
    response = client.patch(reverse("api-incident-report", args=[body["uuid"]]),
                            {"patrol": patrols["away"].pk}, format="json",
                            HTTP_IF_MATCH='"1"')  # fmt: skip
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["patrol"]
    report = IncidentReport.objects.get(uuid=body["uuid"])
    assert (report.patrol, report.version, report.revisions.count()) == (None, 1, 0)


@pytest.mark.django_db
def test_a_monitor_on_another_bases_patrol_may_link_it(users, patrols):
    monitor = users["monitor"]
    patrols["away"].monitors.add(monitor)
    body = report_body(patrol=patrols["away"].pk)
    response = as_user(monitor).post(reverse("api-incident-reports"), body, format="json")
    assert response.status_code == 201, response.json()


@pytest.mark.django_db
def test_the_tablet_gets_its_bases_patrols_around_now(
    client, users, patrols, django_assert_max_num_queries
):
    assert client.login(username=users["monitor"].username, password=PASSWORD)
    with django_assert_max_num_queries(6):
        response = client.get(reverse("tablet-patrols"))
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    listed = response.json()["patrols"]
    assert [p["id"] for p in listed] == [
        patrols[name].pk for name in ("notified", "under_way", "completed")
    ]
    first = listed[0]
    assert first["purpose"] == "Monitoring patrol: Tegh"
    assert first["team_leader"] == users["team_leader"].get_full_name()
    assert first["status_label"] == "Notified"


@pytest.mark.django_db
def test_the_tablets_patrol_list_is_refused_to_others(client, users, patrols):
    assert client.get(reverse("tablet-patrols")).status_code == 401
    assert client.login(username=users["liaison_officer"].username, password=PASSWORD)
    assert client.get(reverse("tablet-patrols")).status_code == 403

"""Object rules: a monitor sees and edits only their own drafts; reviewers never see drafts."""

import pytest
from django.contrib.auth.models import Group
from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import ForwardBase
from core.tests.factories import UserFactory
from reports import selectors
from reports.services.filing import incident_report_submit
from reports.tests.factories import IncidentReportFactory


def report(author, status, **fields):
    return IncidentReportFactory(
        author=author, status=status, observed_at=timezone.now(),
        location=Point(46.53, 39.55, srid=4326), **fields,
    )  # fmt: skip


@pytest.fixture
def reports_of(users):
    kapan = ForwardBase.objects.get(name="Kapan")
    goris = ForwardBase.objects.get(name="Goris")
    me = users["monitor"]
    me.forward_base = kapan
    me.save()
    colleague = UserFactory(username="t-colleague", roles=["monitor"], forward_base=kapan)
    elsewhere = UserFactory(username="t-elsewhere", roles=["monitor"], forward_base=goris)
    return {
        "my_draft": report(me, "draft"),
        "my_submitted": report(me, "submitted"),
        "colleague_draft": report(colleague, "draft"),
        "colleague_submitted": report(colleague, "submitted"),
        "elsewhere_submitted": report(elsewhere, "submitted"),
    }


def visible(user, reports_of):
    names = {r.pk: n for n, r in reports_of.items()}
    return {
        names[pk] for pk in selectors.incident_report_list(user=user).values_list("pk", flat=True)
    }


@pytest.mark.django_db
def test_a_monitor_sees_own_drafts_and_submitted_reports_of_their_base_only(users, reports_of):
    assert visible(users["monitor"], reports_of) == {
        "my_draft", "my_submitted", "colleague_submitted",
    }  # fmt: skip


@pytest.mark.django_db
def test_a_monitor_edits_only_their_own_drafts(users, reports_of):
    me = users["monitor"]
    editable = {
        n for n, r in reports_of.items() if selectors.incident_report_can_edit(user=me, report=r)
    }
    assert editable == {"my_draft"}


@pytest.mark.django_db
def test_an_author_moved_to_another_role_no_longer_changes_or_submits_their_draft(
    users, reports_of
):
    me, draft = users["monitor"], reports_of["my_draft"]
    me.groups.clear()
    me.groups.add(Group.objects.get(name="liaison_officer"))
    me = type(me).objects.get(pk=me.pk)  # the roles are cached on the user object
    assert not selectors.incident_report_can_edit(user=me, report=draft)
    with pytest.raises(PermissionDenied, match="Only the report's author can submit it"):
        incident_report_submit(report=draft, by=me)
    draft.refresh_from_db()
    assert draft.status == "draft"


@pytest.mark.django_db
def test_a_duty_officer_sees_every_submitted_report_and_no_draft(users, reports_of):
    assert visible(users["duty_officer"], reports_of) == {
        "my_submitted", "colleague_submitted", "elsewhere_submitted",
    }  # fmt: skip
    assert not any(
        selectors.incident_report_can_edit(user=users["duty_officer"], report=r)
        for r in reports_of.values()
    )


@pytest.mark.django_db
def test_a_liaison_officer_and_an_outsider_see_no_reports(users, reports_of):
    assert visible(users["liaison_officer"], reports_of) == set()
    assert visible(users["outsider"], reports_of) == set()


@pytest.mark.django_db
def test_the_api_applies_the_rules_with_a_bounded_number_of_queries(
    users, reports_of, django_assert_max_num_queries
):
    client = APIClient()
    client.force_authenticate(users["monitor"])
    with django_assert_max_num_queries(4):
        response = client.get(reverse("api-incident-reports"))
    assert response.status_code == 200
    results = response.json()["results"]
    assert {r["uuid"] for r in results} == {
        str(reports_of[n].uuid) for n in ("my_draft", "my_submitted", "colleague_submitted")
    }
    assert {r["uuid"] for r in results if r["editable"]} == {str(reports_of["my_draft"].uuid)}

    other_draft = reports_of["colleague_draft"].uuid
    detail = client.get(reverse("api-incident-report", args=[other_draft]))
    assert detail.status_code == 404

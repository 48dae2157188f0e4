"""The admin under need-to-know: it lists what the pages show each person, corrections go
through the service (version bumped, revision kept, audited, lost updates refused), hostile
geometry is refused on the field, and the superuser is an operator, not every role."""

import pytest
from django.contrib.gis.geos import Point
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import AuditEntry, User
from core.roles import Role, has_role
from reports.models import IncidentReport, ReportRevision
from reports.tests.factories import IncidentReportFactory

pytestmark = pytest.mark.django_db
KAPAN = Point(46.4056, 39.2076, srid=4326)
JERMUK_EAST = Point(45.70, 39.82, srid=4326)


def report_form(report, location):
    """The admin change form of `report` as the page fills it, at `location`."""
    observed = timezone.localtime(report.observed_at)
    return {
        "observed_at_0": observed.strftime("%Y-%m-%d"),
        "observed_at_1": observed.strftime("%H:%M:%S"),
        "category": report.category,
        "severity": report.severity,
        "description": report.description,
        "location": location.geojson,
        "patrol": report.patrol_id or "",
        "seen_version": report.version,
    }


def report(author, status, description):
    # Whole seconds, as the admin's form shows them: a correction changes only what it says.
    return IncidentReportFactory(
        author=author,
        observed_at=timezone.now().replace(microsecond=0) - timezone.timedelta(hours=2),
        location=JERMUK_EAST,
        category=IncidentReport.Category.SHELLING,
        severity=3,
        description=description,
        status=status,
    )


def staff(client, user):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client.force_login(user)
    return client


def correction(report, location, **changes):
    """The admin change form of `report` (report_form), `location` a point or text."""
    form = report_form(report, JERMUK_EAST if isinstance(location, str) else location)
    if isinstance(location, str):
        form["location"] = location
    return {**form, **changes}


@pytest.fixture
def reports(users):
    monitor = users["monitor"]
    return {
        "draft": report(monitor, IncidentReport.Status.DRAFT, "Draft: not yet checked"),
        "submitted": report(monitor, IncidentReport.Status.SUBMITTED, "Shelling near the road"),
    }


@pytest.mark.parametrize("role", ["duty_officer", "coordinator", "administrator"])
def test_no_staff_member_sees_or_opens_a_monitors_draft_in_the_admin(client, users, reports, role):
    staff(client, users[role])
    draft_url = reverse("admin:reports_incidentreport_change", args=[reports["draft"].pk])
    submitted_url = reverse("admin:reports_incidentreport_change", args=[reports["submitted"].pk])
    listing = client.get(
        reverse("admin:reports_incidentreport_changelist"), {"status__exact": "draft"}
    )
    assert listing.status_code == 200
    assert draft_url not in listing.content.decode()
    everything = client.get(reverse("admin:reports_incidentreport_changelist")).content.decode()
    assert submitted_url in everything and draft_url not in everything
    draft_page = client.get(draft_url)
    # The admin answers an object outside the queryset as missing: back to the index.
    assert draft_page.status_code == 302
    assert "Draft: not yet checked" not in client.get(draft_page.url, follow=True).content.decode()


def test_a_correction_bumps_the_version_keeps_a_revision_and_the_tablet_gets_412(
    client, users, reports
):
    submitted = reports["submitted"]
    staff(client, users["duty_officer"])
    url = reverse("admin:reports_incidentreport_change", args=[submitted.pk])
    response = client.post(url, correction(submitted, KAPAN))
    assert response.status_code == 302, response.context["adminform"].form.errors
    submitted.refresh_from_db()
    assert submitted.version == 2
    assert submitted.sector.name == "Syunik" and "Kapan" in submitted.location_phrase
    revision = ReportRevision.objects.get(report=submitted)
    assert revision.version == 1 and revision.changed_by == users["duty_officer"]
    entry = AuditEntry.objects.filter(model="reports.incidentreport", object_pk=str(submitted.pk))
    assert entry.filter(actor=users["duty_officer"], action="update").exists()

    tablet = APIClient()
    tablet.force_authenticate(users["monitor"])
    stale = tablet.patch(
        reverse("api-incident-report", args=[submitted.uuid]),
        {"description": "The monitor's amendment, made on version 1"},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert stale.status_code == 412
    submitted.refresh_from_db()
    assert submitted.description == "Shelling near the road"


def test_a_correction_made_on_an_older_version_is_refused_and_changes_nothing(
    client, users, reports
):
    submitted = reports["submitted"]
    staff(client, users["duty_officer"])
    form = correction(submitted, KAPAN)
    submitted.version = 2  # the author amended it meanwhile
    submitted.save(update_fields=["version"])
    response = client.post(
        reverse("admin:reports_incidentreport_change", args=[submitted.pk]), form
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert "changed while you were correcting it" in errors[0]
    submitted.refresh_from_db()
    assert submitted.sector.name == "Vayots Dzor" and submitted.version == 2


@pytest.mark.parametrize("role", ["coordinator", "administrator"])
def test_only_a_duty_officer_corrects_a_report_in_the_admin(client, users, reports, role):
    submitted = reports["submitted"]
    staff(client, users[role])
    url = reverse("admin:reports_incidentreport_change", args=[submitted.pk])
    assert client.get(url).status_code == 200  # read, as on the pages
    assert client.post(url, correction(submitted, KAPAN)).status_code == 403
    submitted.refresh_from_db()
    assert submitted.version == 1 and submitted.sector.name == "Vayots Dzor"


@pytest.mark.parametrize(
    "location, reason",
    [
        ('{"type": "Point", "coordinates": [1e300, 1e300]}', "longitude must lie"),
        ('{"type": "Point", "coordinates": [46.4, 39.2, 1200]}', "height is not recorded"),
        ("POINT (1e300 39.2)", "longitude must lie"),
        ("POINT EMPTY", "is empty"),
        ("SRID=3857;POINT (5165000 4750000)", "EPSG:4326"),
        ('{"type": "LineString", "coordinates": [[46.4, 39.2], [46.5, 39.3]]}', "not «Line"),
        ('{"type": "Point", "coordinates": [NaN, 39.2]}', "not valid GeoJSON"),
    ],
)
def test_hostile_geometry_in_the_admin_is_refused_on_its_field(
    client, users, reports, location, reason
):
    submitted = reports["submitted"]
    staff(client, users["duty_officer"])
    response = client.post(
        reverse("admin:reports_incidentreport_change", args=[submitted.pk]),
        correction(submitted, location),
    )
    assert response.status_code == 200
    assert reason in response.context["adminform"].form.errors["location"][0]
    submitted.refresh_from_db()
    assert submitted.version == 1


def test_the_superuser_is_an_operator_not_every_role(users, reports):
    root = User.objects.create_superuser("t-root", "root@mission.test", "x" * 20)
    assert has_role(root, Role.ADMINISTRATOR)
    for role in Role:
        if role != Role.ADMINISTRATOR:
            assert not has_role(root, role), role
    assert not root.has_perm("reports.add_incidentreport")
    assert root.has_perm("core.change_user")  # the Administrator role's own

    api = APIClient()
    api.force_authenticate(root)
    filed = api.post(reverse("api-incident-reports"), {}, format="json")
    assert filed.status_code == 403
    verified = api.post(
        reverse("api-incident-report-verify", args=[reports["submitted"].uuid]),
        {"level": "verified", "note": "I say so"},
        format="json",
    )
    assert verified.status_code == 403

    # An administrator who must act in the field is given that role's group (README).
    root.groups.add(users["duty_officer"].groups.get())
    root = User.objects.get(pk=root.pk)
    assert has_role(root, Role.DUTY_OFFICER)


def test_a_correction_keeps_the_tablets_sub_second_time(client, users, reports):
    submitted = reports["submitted"]
    submitted.observed_at = submitted.observed_at.replace(microsecond=123456)
    submitted.save(update_fields=["observed_at"])
    staff(client, users["duty_officer"])
    response = client.post(
        reverse("admin:reports_incidentreport_change", args=[submitted.pk]),
        correction(submitted, JERMUK_EAST, description="Shelling near the road (corrected)"),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    submitted.refresh_from_db()
    assert submitted.observed_at.microsecond == 123456
    assert submitted.description.endswith("(corrected)") and submitted.version == 2


@pytest.mark.parametrize(
    "query",
    [{"observed_at__year": "9999"}, {"observed_at__gte": "0001-01-01"},
     {"observed_at__lt": "2026-13-40"}, {"observed_at__month": "13"}],
)  # fmt: skip
def test_an_admin_list_answers_an_impossible_date_lookup_as_incorrect(client, users, query):
    staff(client, users["duty_officer"])
    response = client.get(reverse("admin:reports_incidentreport_changelist"), query)
    assert response.status_code == 302 and response.url.endswith("?e=1")
    assert client.get(response.url).status_code == 200


@pytest.mark.parametrize(
    ("day", "reason"),
    [("0001-01-01", "between the years"), ("9999-12-31", "between the years"),
     ("1901-01-01", "between the years")],
)  # fmt: skip
def test_a_correction_keeps_the_observation_time_within_the_mission_years(
    client, users, reports, day, reason
):
    submitted = reports["submitted"]
    staff(client, users["duty_officer"])
    response = client.post(
        reverse("admin:reports_incidentreport_change", args=[submitted.pk]),
        correction(submitted, JERMUK_EAST, observed_at_0=day, observed_at_1="00:00:00"),
    )
    assert response.status_code == 200
    assert reason in response.context["adminform"].form.errors["observed_at"][0]
    submitted.refresh_from_db()
    assert submitted.version == 1


def test_a_correction_offers_and_links_only_patrols_the_author_could_link(client, users, reports):
    from patrols.models import PatrolPlan

    submitted = reports["submitted"]
    base = users["team_leader"].forward_base
    draft = PatrolPlan.objects.create(
        forward_base=base, team_leader=users["team_leader"], author=users["team_leader"],
        purpose="Someone else's draft", planned_departure=timezone.now(),
        planned_return=timezone.now() + timezone.timedelta(hours=4),
    )  # fmt: skip
    staff(client, users["duty_officer"])
    url = reverse("admin:reports_incidentreport_change", args=[submitted.pk])
    page = client.get(url).content.decode()
    assert "Someone else&#x27;s draft" not in page and "Someone else's draft" not in page
    response = client.post(url, correction(submitted, JERMUK_EAST, patrol=draft.pk))
    assert response.status_code == 200
    assert "patrol" in response.context["adminform"].form.errors
    submitted.refresh_from_db()
    assert submitted.patrol_id is None and submitted.version == 1

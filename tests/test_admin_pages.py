"""The admin: every page opens for an administrator at a bounded query cost, the audit trail
cannot be changed through it by anyone, and people who are not staff are sent to log in."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser
from django.contrib.gis.geos import LineString, MultiPolygon, Point, Polygon
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from core.models import (
    AuditEntry,
    BorderSegment,
    DeviceToken,
    ForwardBase,
    Province,
    RestrictedZone,
    Settlement,
    User,
)
from patrols.models import PatrolPlan
from reports.models import IncidentReport
from reports.tests.test_report_admin import report_form

# An admin page costs a fixed number of queries (session, user, permissions, the page's own
# lists and filters) that must not grow with the number of rows listed.
MAX_QUERIES = 15
ROWS = 4  # at least this many of each listed model, so an N+1 would show in the count

JERMUK = Point(45.6836, 39.8408, srid=4326)


def square(lon, lat, half=0.01):
    ring = [
        (lon - half, lat - half),
        (lon + half, lat - half),
        (lon + half, lat + half),
        (lon - half, lat + half),
        (lon - half, lat - half),
    ]
    return MultiPolygon(Polygon(ring), srid=4326)


@pytest.fixture
def administrator(users, client):
    user = users["administrator"]
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client.force_login(user)
    return user


def add_records(users, count, start=0):
    now = timezone.now()
    base = ForwardBase.objects.get(name="Jermuk")
    sector = Province.objects.get(name="Vayots Dzor")
    for i in range(start, start + count):
        RestrictedZone.objects.create(
            name=f"Zone {i}",
            reason=RestrictedZone.Reason.MINES,
            geom=square(45.70 + i * 0.03, 39.80),
            valid_from=now - timedelta(days=1),
            created_by=users["coordinator"],
        )
        DeviceToken.objects.create(user=users["monitor"], device_name=f"Tablet JRM-0{i}")
        plan = PatrolPlan.objects.create(
            forward_base=base,
            team_leader=users["team_leader"],
            purpose=f"Patrol {i} along the Jermuk road",
            planned_departure=now + timedelta(days=i, hours=1),
            planned_return=now + timedelta(days=i, hours=8),
            route=LineString(JERMUK, Point(45.75, 39.80), srid=4326),
            # Submitted: a draft is its planner's alone, in the admin as on the pages.
            status=PatrolPlan.Status.SUBMITTED,
        )
        plan.sectors.set([sector])
        IncidentReport.objects.create(
            author=users["monitor"],
            observed_at=now - timedelta(hours=i + 1),
            location=Point(45.70, 39.82, srid=4326),
            category=IncidentReport.Category.SHELLING,
            severity=3,
            description=f"Report {i}",
            # Submitted: a draft is its author's alone, in the admin as on the pages.
            status=IncidentReport.Status.SUBMITTED,
            sector=sector,
            location_phrase="about 2 km E of Jermuk, Vayots Dzor",
            patrol=plan,
            reference=f"JER-2026-{i + 1:04d}",  # given by the filing service, bypassed here
        )


@pytest.fixture
def mission_records(users):
    """A few rows of everything the admin lists."""
    add_records(users, ROWS)
    return {
        "zone": RestrictedZone.objects.first(),
        "token": DeviceToken.objects.first(),
        "plan": PatrolPlan.objects.first(),
        "report": IncidentReport.objects.first(),
    }


def admin_pages(records):
    """(name, url) of each changelist and change page the administrator works with."""
    objects = {
        "core_province": Province.objects.get(name="Syunik"),
        "core_bordersegment": BorderSegment.objects.first(),
        "core_settlement": Settlement.objects.get(name="Jermuk"),
        "core_forwardbase": ForwardBase.objects.get(name="Jermuk"),
        "core_restrictedzone": records["zone"],
        "core_user": User.objects.get(username="t-monitor"),
        "core_auditentry": AuditEntry.objects.order_by("-id").first(),
        "patrols_patrolplan": records["plan"],
        "reports_incidentreport": records["report"],
    }
    pages = []
    for name, obj in objects.items():
        pages.append((f"{name} list", reverse(f"admin:{name}_changelist")))
        pages.append((f"{name} change", reverse(f"admin:{name}_change", args=[obj.pk])))
    pages.append(("core_devicetoken list", reverse("admin:core_devicetoken_changelist")))
    pages.append(("restricted zone add", reverse("admin:core_restrictedzone_add")))
    pages.append(("admin index", reverse("admin:index")))
    return pages


def test_every_admin_page_opens_for_an_administrator_at_a_bounded_query_cost(
    client, administrator, mission_records, django_assert_max_num_queries
):
    for name, url in admin_pages(mission_records):
        with django_assert_max_num_queries(MAX_QUERIES, info=name):
            response = client.get(url)
        assert response.status_code == 200, f"{name}: {url} answered {response.status_code}"


def test_admin_lists_cost_the_same_however_many_rows_they_show(
    client, administrator, users, mission_records
):
    lists = [(name, url) for name, url in admin_pages(mission_records) if name.endswith("list")]

    def costs():
        result = {}
        for name, url in lists:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            result[name] = len(queries.captured_queries)
        return result

    before = costs()
    add_records(users, ROWS, start=ROWS)
    assert costs() == before


def test_geometry_pages_draw_the_mission_layers_under_the_widget(client, administrator):
    base = ForwardBase.objects.get(name="Jermuk")
    response = client.get(reverse("admin:core_forwardbase_change", args=[base.pk]))
    html = response.content.decode()
    assert "core/mission-layers.js" in html
    assert 'id="id_location-map"' in html
    assert "leaflet/leaflet.js" in html


@pytest.mark.parametrize("role", ["monitor", "outsider"])
def test_people_who_are_not_staff_are_sent_to_the_admin_login(client, users, role):
    client.force_login(users[role])
    response = client.get(reverse("admin:core_restrictedzone_changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_no_one_can_add_change_or_delete_audit_entries_through_the_admin(
    client, administrator, mission_records
):
    entry = AuditEntry.objects.order_by("-id").first()
    superuser = User.objects.create_superuser("t-root", "root@mission.test", "x" * 20)
    model_admin = admin.site._registry[AuditEntry]
    for user in (superuser, administrator):
        request = RequestFactory().get("/admin/")
        request.user = user
        assert model_admin.has_view_permission(request, entry)
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request, entry)
        assert not model_admin.has_delete_permission(request, entry)

    assert client.get(reverse("admin:core_auditentry_add")).status_code == 403
    change_url = reverse("admin:core_auditentry_change", args=[entry.pk])
    page = client.get(change_url)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert b"deletelink" not in page.content
    assert client.post(change_url, {"object_repr": "tampered"}).status_code == 403
    delete_url = reverse("admin:core_auditentry_delete", args=[entry.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    entry.refresh_from_db()
    assert entry.object_repr != "tampered"


def test_an_audit_entry_shows_its_changes_pretty_printed(client, administrator, mission_records):
    entry = AuditEntry.objects.filter(model="core.restrictedzone").first()
    page = client.get(reverse("admin:core_auditentry_change", args=[entry.pk])).content.decode()
    assert "<pre" in page
    assert "&quot;name&quot;: [\n" in page


def test_the_device_token_admin_never_shows_the_digest_and_revokes(
    client, administrator, mission_records
):
    token = mission_records["token"]
    page = client.get(reverse("admin:core_devicetoken_changelist"))
    assert token.token_key.encode() in page.content
    assert b"Tablet JRM-0" in page.content
    for digest in DeviceToken.objects.values_list("digest", flat=True):
        assert digest.encode() not in page.content
    # No page addressed by the primary key (the digest), and no adding: devices log in.
    for view in ("add", "change", "delete"):
        with pytest.raises(NoReverseMatch):
            reverse(f"admin:core_devicetoken_{view}", args=[] if view == "add" else [token.pk])

    response = client.post(
        reverse("admin:core_devicetoken_changelist"),
        {"action": "revoke", "_selected_action": [token.token_key]},
    )
    assert response.status_code == 302
    assert not DeviceToken.objects.filter(pk=token.pk).exists()
    assert DeviceToken.objects.count() == ROWS - 1  # that device only
    assert AuditEntry.objects.filter(
        model="core.devicetoken", action="delete", actor=administrator, client="admin"
    ).exists()


def test_a_monitor_cannot_revoke_devices_in_the_admin(client, users, mission_records):
    monitor = users["monitor"]
    monitor.is_staff = True  # even as staff, the monitor role has no delete permission
    monitor.save(update_fields=["is_staff"])
    client.force_login(monitor)
    token = mission_records["token"]
    response = client.post(
        reverse("admin:core_devicetoken_changelist"),
        {"action": "revoke", "_selected_action": [token.token_key]},
    )
    assert response.status_code == 403
    assert DeviceToken.objects.filter(pk=token.pk).exists()


def zone_form(**overrides):
    now = timezone.localtime()
    data = {
        "name": "Mined orchard east of Jermuk",
        "reason": "mines",
        "details": "Reported by the local administration.",
        "valid_from_0": now.strftime("%Y-%m-%d"),
        "valid_from_1": now.strftime("%H:%M:%S"),
        "valid_until_0": "",
        "valid_until_1": "",
        "geom": square(45.72, 39.84).geojson,
    }
    return {**data, **overrides}


@pytest.fixture
def coordinator(users, client):
    user = users["coordinator"]
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client.force_login(user)
    return user


def test_a_coordinator_adds_a_restricted_zone_recorded_as_theirs(client, coordinator):
    response = client.post(reverse("admin:core_restrictedzone_add"), zone_form())
    assert response.status_code == 302, response.context["adminform"].form.errors
    zone = RestrictedZone.objects.get(name="Mined orchard east of Jermuk")
    assert zone.created_by == coordinator
    assert AuditEntry.objects.filter(
        model="core.restrictedzone",
        object_pk=str(zone.pk),
        action="create",
        actor=coordinator,
        client="admin",
    ).exists()


def test_a_zone_ending_before_it_starts_is_refused_on_its_end_date(client, coordinator):
    start = timezone.localtime()
    end = start - timedelta(hours=2)
    response = client.post(
        reverse("admin:core_restrictedzone_add"),
        zone_form(valid_until_0=end.strftime("%Y-%m-%d"), valid_until_1=end.strftime("%H:%M:%S")),
    )
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["valid_until"] == ["The zone must end after it starts."]
    assert "__all__" not in form.errors
    assert b'value="Mined orchard east of Jermuk"' in response.content  # nothing is lost
    assert not RestrictedZone.objects.filter(name="Mined orchard east of Jermuk").exists()


def test_an_administrator_cannot_make_anyone_a_superuser(client, administrator, users):
    page = client.get(reverse("admin:core_user_change", args=[users["monitor"].pk]))
    assert page.status_code == 200
    assert b'name="is_superuser"' not in page.content
    assert b'name="forward_base"' in page.content


def test_the_user_list_shows_roles_and_forward_bases(client, administrator, users):
    page = client.get(reverse("admin:core_user_changelist")).content.decode()
    assert "coordinator" in page
    assert "Goris" in page  # the standing users' forward base


def test_anonymous_visitors_see_no_admin_page(client):
    request = RequestFactory().get("/admin/")
    request.user = AnonymousUser()
    assert not admin.site.has_permission(request)
    assert client.get(reverse("admin:core_auditentry_changelist")).status_code == 302


def test_a_corrected_incident_location_gets_its_sector_and_phrase_again(
    client, users, mission_records
):
    duty_officer = users["duty_officer"]
    duty_officer.is_staff = True
    duty_officer.save(update_fields=["is_staff"])
    client.force_login(duty_officer)
    report = mission_records["report"]
    url = reverse("admin:reports_incidentreport_change", args=[report.pk])

    kapan = Point(46.4056, 39.2076, srid=4326)
    response = client.post(url, report_form(report, kapan))
    assert response.status_code == 302, response.context["adminform"].form.errors
    report.refresh_from_db()
    assert report.sector.name == "Syunik"
    assert "Kapan" in report.location_phrase

    yerevan = Point(44.5126, 40.1811, srid=4326)
    response = client.post(url, report_form(report, yerevan))
    assert response.status_code == 200
    assert "outside the mission area" in response.context["adminform"].form.errors["location"][0]
    report.refresh_from_db()
    assert report.sector.name == "Syunik"


@pytest.mark.parametrize("role", ["coordinator", "duty_officer", "administrator"])
def test_staff_see_no_one_elses_patrol_draft_in_the_admin(client, users, mission_records, role):
    draft = PatrolPlan.objects.create(
        forward_base=ForwardBase.objects.get(name="Jermuk"),
        team_leader=users["team_leader"],
        author=users["team_leader"],
        purpose="A draft still being written",
        planned_departure=timezone.now() + timedelta(days=9),
        planned_return=timezone.now() + timedelta(days=9, hours=6),
    )
    user = users[role]
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client.force_login(user)
    listing = client.get(reverse("admin:patrols_patrolplan_changelist"), {"status__exact": "draft"})
    assert listing.status_code == 200
    assert (
        reverse("admin:patrols_patrolplan_change", args=[draft.pk]) not in listing.content.decode()
    )
    assert (
        client.get(reverse("admin:patrols_patrolplan_change", args=[draft.pk])).status_code == 302
    )
    shown = reverse("admin:patrols_patrolplan_change", args=[mission_records["plan"].pk])
    assert shown in client.get(reverse("admin:patrols_patrolplan_changelist")).content.decode()

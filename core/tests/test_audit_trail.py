"""Every write to mission data is recorded, append-only and hash-chained."""

from datetime import timedelta

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.core.management import call_command
from django.utils import timezone

from core.audit.context import acting_as
from core.audit.models import AppendOnlyError, AuditEntry
from core.models import RestrictedZone

pytestmark = pytest.mark.usefixtures("geography")


def make_zone(name="Closed road near Tegh", **fields):
    return RestrictedZone.objects.create(
        name=name,
        reason=fields.pop("reason", RestrictedZone.Reason.SECURITY),
        geom=MultiPolygon(Polygon.from_bbox((46.45, 39.55, 46.47, 39.57)), srid=4326),
        valid_from=fields.pop("valid_from", timezone.now()),
        **fields,
    )


def entries_for(obj):
    return AuditEntry.objects.filter(model=obj._meta.label_lower, object_pk=str(obj.pk))


@pytest.mark.django_db
def test_create_update_and_delete_are_recorded_with_before_and_after(users):
    coordinator = users["coordinator"]
    with acting_as(actor=coordinator, client=AuditEntry.Client.SESSION, client_ref="abc"):
        zone = make_zone(created_by=coordinator)
        zone.reason = RestrictedZone.Reason.MINES
        zone.save()
        zone_pk = zone.pk
        zone.delete()

    created, updated, deleted = AuditEntry.objects.filter(
        model="core.restrictedzone", object_pk=str(zone_pk)
    ).order_by("id")
    assert created.action == "create" and created.changes["name"] == [None, zone.name]
    assert updated.action == "update"
    assert updated.changes == {"reason": ["security", "mines"]}
    assert deleted.action == "delete" and deleted.changes["reason"] == ["mines", None]
    for entry in (created, updated, deleted):
        assert entry.actor == coordinator and entry.actor_label == coordinator.username
        assert (entry.client, entry.client_ref) == ("session", "abc")


@pytest.mark.django_db
def test_a_save_that_changes_nothing_records_nothing(users):
    zone = make_zone()
    before = AuditEntry.objects.count()
    zone.save()
    assert AuditEntry.objects.count() == before


@pytest.mark.django_db
def test_passwords_are_never_written_to_the_trail(users):
    user = users["monitor"]
    user.set_password("a brand new secret phrase")
    user.save()
    entry = entries_for(user).last()
    assert entry.changes == {"password": ["[redacted]", "[redacted]"]}
    assert "brand new" not in str(AuditEntry.objects.values_list("changes", flat=True))


@pytest.mark.django_db
def test_role_changes_are_recorded(users):
    from django.contrib.auth.models import Group

    user = users["monitor"]
    user.groups.add(Group.objects.get(name="coordinator"))
    entry = entries_for(user).last()
    assert "added" in entry.changes["groups"]
    assert Group.objects.get(name="coordinator").pk in entry.changes["groups"]["now"]


@pytest.mark.django_db
def test_a_management_command_is_recorded_as_such(users):
    RestrictedZone.objects.all().delete()
    from core.models import Settlement

    Settlement.objects.filter(name="Tegh").delete()
    call_command("load_geography", verbosity=0)
    entry = AuditEntry.objects.filter(model="core.settlement").last()
    assert (entry.action, entry.client, entry.client_ref) == ("create", "command", "load_geography")
    assert entry.object_repr == "Tegh"


@pytest.mark.django_db
def test_entries_cannot_be_changed_or_removed_through_the_application():
    entry = AuditEntry.objects.first()
    entry.actor_label = "someone else"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(actor_label="x")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()


@pytest.mark.django_db
def test_the_valid_until_constraint_names_the_problem(users):
    zone = RestrictedZone(
        name="Backwards",
        reason=RestrictedZone.Reason.OTHER,
        geom=MultiPolygon(Polygon.from_bbox((46.45, 39.55, 46.47, 39.57)), srid=4326),
        valid_from=timezone.now(),
        valid_until=timezone.now() - timedelta(hours=1),
    )
    with pytest.raises(Exception, match="must end after it starts"):
        zone.full_clean()


@pytest.mark.django_db
def test_a_save_of_some_fields_records_exactly_what_changed_in_them(users):
    zone = make_zone()
    zone.reason = RestrictedZone.Reason.MINES
    zone.name = "Renamed in memory only"  # not saved: must not appear in the trail
    zone.save(update_fields=["reason"])
    entry = entries_for(zone).order_by("-id").first()
    assert entry.action == "update"
    assert entry.changes == {"reason": ["security", "mines"]}
    zone.save(update_fields=["reason"])  # nothing changed in that field
    assert entries_for(zone).count() == 2

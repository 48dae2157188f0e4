"""Every write to mission data is recorded, append-only and hash-chained."""

import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction
from django.utils import timezone

from core.audit.context import acting_as
from core.audit.models import AppendOnlyError, AuditChainHead, AuditEntry
from core.audit.services import audit_chain_verify
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


def tamper(sql, params):
    """Change audit rows behind the application's back, as an attacker with DB access would.

    On PostgreSQL the append-only trigger refuses this, so the attacker first switches
    triggers off for the session (a superuser's power).
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


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
    ).order_by("seq")
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


@pytest.mark.postgresql
@pytest.mark.django_db
def test_on_postgresql_the_database_refuses_update_and_delete_of_entries():
    entry = AuditEntry.objects.first()
    for sql in (
        "UPDATE core_auditentry SET actor_label = 'x' WHERE id = %s",
        "DELETE FROM core_auditentry WHERE id = %s",
    ):
        with (
            pytest.raises(Exception, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [entry.pk])


@pytest.mark.django_db
def test_audit_verify_passes_on_an_intact_chain():
    make_zone()
    out = StringIO()
    call_command("audit_verify", stdout=out)
    assert "intact" in out.getvalue()
    assert f"{AuditEntry.objects.count()} entries verified" in out.getvalue()


@pytest.mark.django_db
def test_audit_verify_names_the_entry_edited_with_raw_sql():
    for i in range(5):
        make_zone(name=f"Zone {i}")
    victim = AuditEntry.objects.order_by("seq")[20]
    tamper("UPDATE core_auditentry SET object_repr = %s WHERE id = %s", ["harmless", victim.pk])

    report = audit_chain_verify()
    assert not report.ok
    assert (report.broken_seq, report.broken_id) == (victim.seq, victim.pk)
    with pytest.raises(CommandError, match=rf"entry #{victim.seq} \(id {victim.pk}\)"):
        call_command("audit_verify")


@pytest.mark.django_db
def test_audit_verify_notices_an_entry_removed_from_the_middle_or_the_end():
    for i in range(3):
        make_zone(name=f"Zone {i}")
    last = AuditEntry.objects.order_by("-seq").first()
    tamper("DELETE FROM core_auditentry WHERE id = %s", [last.pk])
    report = audit_chain_verify()
    assert not report.ok and "removed from its end" in report.problem

    middle = AuditEntry.objects.order_by("seq")[10]
    tamper("DELETE FROM core_auditentry WHERE id = %s", [middle.pk])
    report = audit_chain_verify()
    assert report.broken_seq == middle.seq + 1


@pytest.mark.django_db
def test_a_forged_entry_with_a_recomputed_hash_still_breaks_the_next_link():
    for i in range(3):
        make_zone(name=f"Zone {i}")
    victim = AuditEntry.objects.order_by("seq")[5]
    victim.object_repr = "forged"
    forged_hash = victim.compute_hash()
    tamper(
        "UPDATE core_auditentry SET object_repr = %s, hash = %s WHERE id = %s",
        ["forged", forged_hash, victim.pk],
    )
    report = audit_chain_verify()
    assert report.broken_seq == victim.seq + 1
    assert "previous-hash" in report.problem


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain(geography):
    start = AuditChainHead.objects.get(pk=1).last_seq
    errors = []

    def writer(n):
        try:
            for i in range(5):
                with transaction.atomic():
                    make_zone(name=f"Writer {n} zone {i}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    seqs = list(AuditEntry.objects.filter(seq__gt=start).values_list("seq", flat=True))
    assert seqs == list(range(start + 1, start + 21))
    assert audit_chain_verify().ok


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

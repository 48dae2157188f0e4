"""audited_insert (core.audit.services): a new row and its audit entry, committed together;
on PostgreSQL in one statement, with the entry save() and the audit trail's handler write."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from core.audit.models import AuditEntry
from core.audit.services import audit_seal, audited_insert
from core.audit.verification import audit_chain_verify
from core.db import insert_new
from core.tests.test_device_tokens import login, with_token
from reports.models import IncidentEvent, IncidentReport
from reports.tests.test_report_filing_api import report_body
from tests.test_insert_new import COMPARED, _audit_changes, _report


def _entry(instance):
    return AuditEntry.objects.get(model=instance._meta.label_lower, object_pk=str(instance.pk))


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_row_and_its_entry_are_those_save_writes(users):
    sector = users["monitor"].forward_base.province
    by_save = _report(users["monitor"], sector=sector)
    with transaction.atomic():
        insert_new(by_save)  # the post_save handler writes the entry
    fast = _report(users["monitor"], sector=sector)
    with CaptureQueriesContext(connection) as queries:
        audited_insert(fast)
    statements = [q["sql"] for q in queries.captured_queries]
    if connection.vendor == "postgresql":
        assert len(statements) == 1 and statements[0].startswith("WITH new_row AS ("), statements
    else:  # its own transaction around the two inserts
        assert sum(s.startswith("INSERT") for s in statements) == 2, statements
    assert fast.pk is not None and not fast._state.adding
    rows = IncidentReport.objects.filter(pk__in=[by_save.pk, fast.pk]).order_by("pk")
    saved_row, fast_row = ({name: getattr(r, name) for name in COMPARED} for r in rows)
    assert fast_row == saved_row
    assert _audit_changes(fast) == _audit_changes(by_save)
    entry = _entry(fast)
    assert entry.changes["id"] == [None, fast.pk]  # the key the database gave the row
    assert (entry.action, entry.object_repr) == ("create", str(fast))
    assert AuditEntry.objects.filter(object_pk=str(fast.pk), model=entry.model).count() == 1
    assert audit_seal() >= 2
    assert audit_chain_verify().ok


@pytest.mark.django_db(transaction=True)
def test_a_refused_row_writes_no_entry_and_leaves_the_callers_transaction_usable(users):
    sector = users["monitor"].forward_base.province
    first = _report(users["monitor"], sector=sector)
    audited_insert(first)
    entries = AuditEntry.objects.count()
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            audited_insert(_report(users["monitor"], sector=sector, uuid=first.uuid))
        # Still usable: the refused insert was undone to its savepoint, not the whole
        # transaction (PostgreSQL refuses every later statement of an aborted transaction).
        assert IncidentReport.objects.filter(uuid=first.uuid).count() == 1
    with pytest.raises(IntegrityError):
        audited_insert(_report(users["monitor"], sector=sector, uuid=first.uuid))
    assert AuditEntry.objects.count() == entries
    assert IncidentReport.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_object_whose_name_shows_its_key_gets_its_name_after_the_insert(users):
    # "Event <pk>": the one-statement entry would name it "Event None".
    event = IncidentEvent(created_by=users["coordinator"], note="Shelling heard by two teams.")
    audited_insert(event)
    assert _entry(event).object_repr == f"Event {event.pk}"


@pytest.mark.django_db(transaction=True)
def test_filing_with_a_token_outside_a_transaction_takes_one_transaction_on_postgresql(users):
    client = with_token(login(APIClient(), "t-monitor").json()["token"])
    # A point well inside Syunik: no province fallback query.
    body = report_body(location={"type": "Point", "coordinates": [46.40, 39.20]})
    client.post(reverse("api-incident-reports"), report_body(), format="json")  # warm-up
    with CaptureQueriesContext(connection) as queries:
        response = client.post(reverse("api-incident-reports"), body, format="json")
    assert response.status_code == 201, response.json()
    statements = [q["sql"] for q in queries.captured_queries]
    if connection.vendor == "postgresql":
        # The token with its user, roles and permissions; then, in one transaction, the
        # reference's number and the report with its audit entry (reports.services.references).
        assert len(statements) == 5, "\n".join(statements)
        assert "json_agg" in statements[0]
        assert statements[1] == "BEGIN" and statements[4] == "COMMIT"
        assert statements[2].startswith('INSERT INTO "reports_referencesequence"')
        assert statements[3].startswith("WITH new_row AS (")
    else:
        assert "json_group_array" in statements[0]
        # The number, the report and its entry.
        assert sum(s.startswith("INSERT") for s in statements) == 3, "\n".join(statements)
    report = IncidentReport.objects.get(uuid=body["uuid"])
    assert _entry(report).actor_id == users["monitor"].pk
    assert _entry(report).client == AuditEntry.Client.TOKEN


@pytest.mark.django_db(transaction=True)
def test_a_name_that_shows_the_key_only_once_set_is_given_after_the_insert(users, monkeypatch):
    # "#new" before the insert, "#<pk>" after: probing with a key of 0 would not see it.
    monkeypatch.setattr(IncidentReport, "__str__", lambda self: f"Report #{self.pk or 'new'}")
    report = _report(users["monitor"], sector=users["monitor"].forward_base.province)
    audited_insert(report)
    assert _entry(report).object_repr == f"Report #{report.pk}"


@pytest.mark.django_db(transaction=True)
def test_a_save_diffed_against_a_locked_read_leaves_nothing_for_a_later_save(users):
    from django.db.transaction import TransactionManagementError
    from django.utils import timezone

    from core.audit.registry import audited_save_locked

    report = _report(users["monitor"], sector=users["monitor"].forward_base.province)
    audited_insert(report)
    with pytest.raises(TransactionManagementError):  # no lock without its transaction
        audited_save_locked(report, flash_alerted_at=timezone.now())
    claimed = timezone.now()
    with transaction.atomic():
        locked = IncidentReport.objects.select_for_update().get(pk=report.pk)
        audited_save_locked(locked, flash_alerted_at=claimed)
    # Another process gives the claim back; this instance, saved later without a lock, is
    # diffed against the row (claimed), not against what it was read with (None).
    other = IncidentReport.objects.get(pk=report.pk)
    other.flash_alerted_at = None
    other.save(update_fields=["flash_alerted_at"])
    locked.flash_alerted_at = claimed
    locked.save(update_fields=["flash_alerted_at"])
    changes = [
        e.changes["flash_alerted_at"]
        for e in AuditEntry.objects.filter(
            model="reports.incidentreport", object_pk=str(report.pk), action="update"
        ).order_by("id")
    ]
    assert [[old is None, new is None] for old, new in changes] == [
        [True, False],
        [False, True],
        [True, False],
    ]

"""insert_new (core/db.py) writes the row and the audit entry Model.save() would write."""

import itertools
from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from core.audit.models import AuditEntry
from core.db import insert_new
from reports.models import IncidentReport

COMPARED = [
    f.attname for f in IncidentReport._meta.concrete_fields
    if f.attname not in ("id", "uuid", "reference", "received_at")
]  # fmt: skip


OBSERVED = timezone.now() - timedelta(hours=1)


_NUMBERS = itertools.count(1)


def _report(author, **changes):
    values = {
        "author": author,
        # Given by the filing service; unique, so one per row built here.
        "reference": f"TST-2026-{next(_NUMBERS):04d}",
        "observed_at": OBSERVED,
        "location": Point(46.5311, 39.5481, srid=4326),
        "observer_position": None,
        "category": IncidentReport.Category.SMALL_ARMS,
        "severity": 3,
        "description": "Bursts heard to the east.",
        "location_phrase": "in Kornidzor, Syunik",
        "bursts": 4,
    }
    return IncidentReport(**(values | changes))


def _audit_changes(report):
    entry = AuditEntry.objects.get(model="reports.incidentreport", object_pk=str(report.pk))
    changes = dict(entry.changes)
    for name in ("id", "uuid", "reference", "received_at"):
        changes.pop(name)
    return entry.action, changes


@pytest.mark.django_db
def test_the_row_and_its_audit_entry_are_those_save_writes(users):
    sector = users["monitor"].forward_base.province
    by_save = _report(users["monitor"], sector=sector)
    by_save.save()
    fast = _report(users["monitor"], sector=sector)
    insert_new(fast)
    assert fast.pk is not None and fast.pk != by_save.pk and not fast._state.adding
    rows = IncidentReport.objects.filter(pk__in=[by_save.pk, fast.pk]).order_by("pk")
    saved_row, fast_row = (
        {name: getattr(r, name) for name in COMPARED} for r in rows
    )  # fmt: skip
    assert fast_row == saved_row
    assert fast.received_at is not None  # auto_now_add, as save() sets it
    assert _audit_changes(fast) == _audit_changes(by_save)


@pytest.mark.django_db
def test_what_it_does_not_cover_goes_through_save(users):
    sector = users["monitor"].forward_base.province
    chosen = _report(users["monitor"], sector=sector, id=987654)
    insert_new(chosen)  # a key chosen by the caller: the ORM's own insert
    assert IncidentReport.objects.filter(pk=987654).exists()
    assert AuditEntry.objects.filter(object_pk="987654").count() == 1

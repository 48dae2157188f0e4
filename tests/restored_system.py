"""What the restore drill (tests/test_backup_restore.py) reads from a database, in this process
or in one of its own against the restored database:

    python tests/restored_system.py rows OUT.json        every row of every table, as JSON
    python tests/restored_system.py file-report USERNAME  a new report filed through the API

Run with DJANGO_SETTINGS_MODULE and DATABASE_URL set (conftest._process_env).
"""

import json
import sys
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _plain(value):
    """A value as JSON can hold it, the same way from either database."""
    from django.contrib.gis.geos import GEOSGeometry

    if isinstance(value, GEOSGeometry):
        return value.ewkt
    if isinstance(value, bytes | memoryview | bytearray):
        return bytes(value).hex()
    if isinstance(value, datetime | date | time | Decimal | UUID):
        return str(value)
    return value


def tables() -> dict:
    """model label → every row (all concrete fields) ordered by primary key; and the applied
    migrations. Through the base manager, so no default filter hides a row."""
    from django.apps import apps
    from django.db.migrations.recorder import MigrationRecorder

    models = [model for model in apps.get_models(include_auto_created=True)
              if model._meta.managed and not model._meta.proxy]  # fmt: skip
    models.append(MigrationRecorder.Migration)
    found = {}
    for model in models:
        fields = [field.attname for field in model._meta.concrete_fields]
        rows = model._base_manager.order_by("pk").values_list(*fields)
        found[model._meta.label] = [[_plain(value) for value in row] for row in rows]
    return found


def file_report(username: str) -> dict:
    """A monitor files a report through the API, as a tablet does; returns its pk and
    reference (the view answers 201 or this raises)."""
    from django.urls import reverse
    from rest_framework.test import APIClient

    from core.models import User
    from reports.models import IncidentReport
    from reports.tests.test_report_filing_api import report_body

    client = APIClient()
    client.force_authenticate(User.objects.get(username=username))
    body = report_body()
    response = client.post(reverse("api-incident-reports"), body, format="json")
    if response.status_code != 201:
        raise SystemExit(f"filing answered {response.status_code}: {response.content[:2000]}")
    report = IncidentReport.objects.get(uuid=body["uuid"])
    return {"pk": report.pk, "reference": report.reference}


if __name__ == "__main__":
    import django

    django.setup()
    if sys.argv[1] == "rows":
        Path(sys.argv[2]).write_text(json.dumps(tables()))
    elif sys.argv[1] == "file-report":
        print(json.dumps(file_report(sys.argv[2])))
    else:
        raise SystemExit(f"unknown command {sys.argv[1]!r}")

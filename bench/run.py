"""missionapp benchmark: prints a table of the figures that matter, on the configured database.

    .venv/bin/python bench/run.py             # embedded: a fresh SpatiaLite file in a temp dir
    DATABASE_URL=postgis://postgres@127.0.0.1:5432/missionapp_bench .venv/bin/python bench/run.py

Numbers, not pass/fail: targets are in the table beside each figure.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("MISSIONAPP_VAR_DIR", tempfile.mkdtemp(prefix="missionapp-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "missionapp.settings.dev")
os.environ["DEBUG"] = "false"
os.environ["ALLOWED_HOSTS"] = "testserver"

import django  # noqa: E402

django.setup()

from django.test.utils import override_settings  # noqa: E402

# The pages are rendered with the static files' plain names, read from their sources
# (bench/tablet_first_load.py compresses them as whitenoise's collection would): no
# collection of ~40 s before every run.
override_settings(
    STORAGES={
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
).enable()

from django.contrib.gis.geos import MultiPolygon, Point, Polygon  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from core import selectors  # noqa: E402
from core.audit.services import audit_chain_verify  # noqa: E402
from core.models import RestrictedZone, User  # noqa: E402

ROWS = []


def measure(name, n, fn, target):
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    elapsed = time.perf_counter() - start
    ROWS.append((name, n, f"{n / elapsed:,.0f}/s", f"{elapsed / n * 1000:.2f} ms", target))


def main():
    call_command("migrate", verbosity=0)
    call_command("load_geography", verbosity=0)
    points = [Point(45.0 + (i % 50) * 0.03, 39.3 + (i // 50) * 0.03, srid=4326) for i in range(400)]

    measure("sector_at (point → sector)", 400, lambda i: selectors.sector_at(points[i]), "≥ 200/s")
    measure(
        "describe_location (phrase)", 400,
        lambda i: selectors.describe_location(points[i]), "≥ 100/s",
    )  # fmt: skip
    measure(
        "distance_to_border_km", 400,
        lambda i: selectors.distance_to_border_km(points[i]), "≥ 100/s",
    )  # fmt: skip

    def audited_write(i):
        with transaction.atomic():
            RestrictedZone.objects.create(
                name=f"Bench zone {i}",
                reason=RestrictedZone.Reason.OTHER,
                geom=MultiPolygon(Polygon.from_bbox((46.4, 39.5, 46.41, 39.51)), srid=4326),
                valid_from=timezone.now(),
            )

    measure("audited write (row + chained entry)", 500, audited_write, "≥ 100/s")
    measure("audit_verify (whole chain, 550 entries)", 5, lambda i: audit_chain_verify(), "< 1 s")

    client = Client()
    client.force_login(User.objects.create_user("bench"))

    def ok(response):
        assert response.status_code == 200, response.status_code
        return response

    measure(
        "GET /api/geography/provinces/ (GeoJSON)", 100,
        lambda i: ok(client.get("/api/geography/provinces/")), "≥ 50/s",
    )  # fmt: skip
    measure(
        "GET /api/geography/locate/", 200,
        lambda i: ok(client.get("/api/geography/locate/", {"lat": 39.55, "lon": 46.3})), "≥ 100/s",
    )  # fmt: skip

    tablet_in_the_field()
    incident_map(client)

    width = max(len(r[0]) for r in ROWS)
    print(f"\nmissionapp benchmark on {connection.vendor} ({connection.settings_dict['NAME']})\n")
    print(f"{'operation':<{width}}  {'n':>5}  {'rate':>10}  {'per op':>9}  target")
    print("-" * (width + 45))
    for name, n, rate, per_op, target in ROWS:
        print(f"{name:<{width}}  {n:>5}  {rate:>10}  {per_op:>9}  {target}")


def tablet_in_the_field():
    """The tablet's first load (bytes) and the base layer's offline copy per sector."""
    from django.contrib.auth.models import Group

    from bench.tablet_first_load import basemap_per_sector, first_load
    from core.models import ForwardBase

    monitor = User.objects.create_user(
        "bench-monitor", forward_base=ForwardBase.objects.get(name="Kapan")
    )
    monitor.groups.add(Group.objects.get(name="monitor"))
    first_load(monitor, ROWS)
    basemap_per_sector(ROWS, monitor, os.environ.get("BENCH_BASEMAP"))


INCIDENTS = int(os.environ.get("BENCH_INCIDENTS", 100_000))


def incident_map(client):
    """The duty officers' map and lists over BENCH_INCIDENTS incidents (default 100,000)."""
    import random
    from datetime import timedelta

    from django.contrib.auth.models import Group

    from core.models import Province
    from reports.models import IncidentReport

    officer = User.objects.create_user("bench-duty")
    officer.groups.add(Group.objects.get(name="duty_officer"))
    sectors = list(Province.objects.filter(is_sector=True))
    rnd, now = random.Random(4), timezone.now()
    start = time.perf_counter()
    # Straight into the table (the audit trail is not what is measured here): a year of
    # incidents spread over the mission area's bounding box.
    for offset in range(0, INCIDENTS, 5000):
        IncidentReport.objects.bulk_create([
            IncidentReport(
                author=officer, status=IncidentReport.Status.SUBMITTED,
                observed_at=now - timedelta(minutes=rnd.randint(0, 525_600)),
                location=Point(rnd.uniform(44.6, 46.6), rnd.uniform(38.9, 41.2), srid=4326),
                category=IncidentReport.Category.SHELLING, severity=rnd.randint(1, 5),
                description="Bench incident.", sector=rnd.choice(sectors), location_phrase="bench",
                # Unique, as the filing service's KAP-2026-0142 are (it is bypassed here).
                reference=f"BENCH-{offset + i:07d}",
            )
            for i in range(min(5000, INCIDENTS - offset))
        ])  # fmt: skip
    ROWS.append((f"insert {INCIDENTS:,} incidents (bulk)", INCIDENTS,
                 f"{INCIDENTS / (time.perf_counter() - start):,.0f}/s", "", "setup"))  # fmt: skip
    client.force_login(officer)
    # A duty officer logs in with a second factor: the bench's session has given it.
    from core import security

    session = client.session
    session[security.SECOND_FACTOR] = security.VERIFIED
    session.save()

    def ok(path, params):
        response = client.get(path, params)
        assert response.status_code == 200, (response.status_code, response.content[:300])
        return response

    week = (timezone.localdate() - timedelta(days=7)).isoformat()
    cases = [
        ("map: whole mission area, zoom 8, all year", {"bbox": "43.4,38.8,46.7,41.3", "zoom": 8}),
        ("map: whole area, last 7 days", {"bbox": "43.4,38.8,46.7,41.3", "zoom": 8,
                                          "date_from": week}),
        ("map: Syunik, zoom 10, severity ≥ 4", {"bbox": "45.9,38.8,46.7,39.9", "zoom": 10,
                                                "severity_min": 4}),
        ("map: 5 km square, zoom 14", {"bbox": "46.30,39.49,46.36,39.53", "zoom": 14}),
    ]  # fmt: skip
    for name, params in cases:
        measure(f"GET {name}", 10, lambda i, p=params: ok("/api/reports/map/", p), "< 300 ms")
    measure("GET /incidents/ (list page 1, 50 rows)", 10,
            lambda i: ok("/incidents/", {}), "< 300 ms")  # fmt: skip
    measure("GET /incidents/queue/ (review queue)", 5,
            lambda i: ok("/incidents/queue/", {}), "< 500 ms")  # fmt: skip
    daily_summary()


def daily_summary():
    """Building the last period's summary over the year of incidents (about 270 a day)."""
    from datetime import timedelta

    from reports.summaries import services as summaries

    ends = [summaries.last_cutoff(timezone.now()) - timedelta(days=d) for d in range(3)]
    measure("daily summary: build (content + 8 files)", 3,
            lambda i: summaries.summary_produce(period_end=ends[i]), "< 60 s")  # fmt: skip
    measure("daily summary: rebuild, unchanged", 3,
            lambda i: summaries.summary_produce(period_end=ends[i]), "< 5 s")  # fmt: skip


if __name__ == "__main__":
    main()

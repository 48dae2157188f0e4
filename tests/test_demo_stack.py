"""`make demo` end to end: bin/demo sets up and runs web + worker + beat + the audit sealer on
the embedded stack
(SpatiaLite and kombu's filesystem broker under its own var/ folder), the login page and the
admin map work in Chromium, Ctrl-C stops every process, and a second run duplicates nothing.
"""

import http.client
import json
import os
import re
import signal
import sqlite3
import subprocess
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conftest import free_port
from core.management.commands.demo_users import read_logins
from tests.browser import second_factor_through_the_pages

pytestmark = pytest.mark.long
BASE_DIR = Path(__file__).resolve().parent.parent
STARTUP_SECONDS = 300
# What a second run must not change: users, incidents, patrols, and the audit entries written
# by the setup commands (a write that changed nothing records nothing).
COUNTS = (
    "SELECT (SELECT count(*) FROM core_user), (SELECT count(*) FROM reports_incidentreport),"
    " (SELECT count(*) FROM patrols_patrolplan),"
    " (SELECT count(*) FROM core_auditentry WHERE client = 'command')"
)


def demo_env(var_dir, port):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
        and not k.startswith("PYTEST")
    }
    # Beat fires the audit verification and the anchor every 2 s instead of hourly and every
    # minute, so the test sees them; the demo's base layer is drawn to zoom 8 only (seconds,
    # not a minute).
    # The static files are collected under the demo's own folder (the checkout's staticfiles/
    # is a developer's).
    return {**env, "MISSIONAPP_VAR_DIR": str(var_dir), "PORT": str(port),
            "STATIC_ROOT": str(var_dir / "static"),
            "AUDIT_VERIFY_INTERVAL_SECONDS": "2", "AUDIT_ANCHOR_INTERVAL_SECONDS": "2",
            "DEMO_BASEMAP_MAXZOOM": "8"}  # fmt: skip


class Demo:
    def __init__(self, var_dir, port, log_path):
        self.var_dir, self.port, self.log_path = var_dir, port, log_path
        self.url = f"http://127.0.0.1:{port}"
        with open(log_path, "a") as log:
            # Its own process group, as a terminal gives a foreground job: Ctrl-C reaches all.
            self.proc = subprocess.Popen(
                ["bin/demo"], cwd=BASE_DIR, env=demo_env(var_dir, port),
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def log(self):
        return self.log_path.read_text()[-4000:]

    def wait_until_serving(self):
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"bin/demo exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/login/", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        pytest.fail(f"the demo did not serve /login/ within {STARTUP_SECONDS}s:\n{self.log()}")

    def query(self, sql, parameters=()):
        with sqlite3.connect(self.var_dir / "missionapp.sqlite3", timeout=30) as db:
            return db.execute(sql, parameters).fetchall()

    def ctrl_c(self):
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            pytest.fail(f"bin/demo did not stop on Ctrl-C:\n{self.log()}")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return  # no process of the demo is left
            time.sleep(0.2)
        left = subprocess.run(
            ["ps", "-o", "pid,args", "--no-headers", "-g", str(self.proc.pid)],
            capture_output=True, text=True, check=False,
        ).stdout  # fmt: skip
        os.killpg(self.proc.pid, signal.SIGKILL)
        pytest.fail(f"processes still running after Ctrl-C:\n{left}")


def wait_for(predicate, timeout, message):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {message}")


def post_json(url, path, body, headers=None):
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=120)
    try:
        connection.request("POST", path, json.dumps(body),
                           {"Content-Type": "application/json", **(headers or {})})  # fmt: skip
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def burst_of_tablets(url, token, clients=50):
    """`clients` tablets that found a signal at the same instant: each opens its own
    connection once all are ready and files one report. Returns each one's status, or the
    name of the error its connection met."""
    barrier = threading.Barrier(clients)
    uuids = [str(uuid.uuid4()) for _ in range(clients)]
    outcomes = [None] * clients
    observed = (datetime.now(UTC) - timedelta(minutes=20)).replace(microsecond=0).isoformat()

    def tablet(i):
        body = {
            "uuid": uuids[i], "observed_at": observed, "category": "small_arms",
            "location": {"type": "Point", "coordinates": [46.5311 + i * 1e-4, 39.5481]},
            "severity": 2, "status": "submitted", "description": f"Burst report {i}.",
        }  # fmt: skip
        barrier.wait()
        try:
            outcomes[i] = post_json(
                url, "/api/reports/", body, {"Authorization": f"Token {token}"}
            )[0]
        except (OSError, http.client.HTTPException) as exc:  # a reset, a refused connection
            outcomes[i] = type(exc).__name__

    threads = [threading.Thread(target=tablet, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def stack_environments(var_dir) -> dict[str, dict]:
    """The environment of each process run_stack started for this demo (by its var dir)."""
    found = {}
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            raw = (proc / "environ").read_bytes()
        except OSError:
            continue
        env = dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0")
                   if "=" in item)  # fmt: skip
        if env.get("MISSIONAPP_VAR_DIR") != str(var_dir) or "run_stack" in cmdline:
            continue
        for role in ("gunicorn", "worker", "beat", "audit_seal"):
            if f" {role} " in f" {cmdline} ":
                found.setdefault(role, env)
    return found


def test_make_demo_runs_web_worker_and_beat_and_ctrl_c_stops_them_all(browser, tmp_path):
    var_dir = tmp_path / "var"
    demo = Demo(var_dir, free_port(), tmp_path / "demo.log")
    try:
        demo.wait_until_serving()
        # E-mail links point at the port the demo runs on (PORT), in every process it started.
        stack = stack_environments(var_dir)
        assert len(stack) == 4, stack  # web, worker, beat, sealer
        assert {env.get("SITE_URL") for env in stack.values()} == {demo.url}
        # Beat sent the verification, the worker ran it: the verdict is on the chain head.
        wait_for(
            lambda: demo.query("SELECT verified_ok FROM core_auditchainhead") == [(1,)],
            60, "beat and the worker to verify the audit chain",
        )  # fmt: skip
        # The sealer process sealed everything the setup commands wrote, and beat anchored it.
        wait_for(lambda: demo.query("SELECT count(*) FROM core_auditentry WHERE seq IS NULL")
                 == [(0,)], 60, "the sealer to seal the demo's entries")  # fmt: skip
        wait_for(lambda: (var_dir / "audit-anchors.jsonl").exists(), 60, "an audit anchor")
        logins = read_logins(var_dir / "demo-logins.txt")
        roles = {name for (name,) in demo.query("SELECT name FROM auth_group")}
        assert roles == {"monitor", "team_leader", "coordinator", "duty_officer",
                         "liaison_officer", "headquarters", "administrator"}  # fmt: skip
        for role in roles:
            assert role in logins, f"no demo login printed for {role}"
        log = demo.log_path.read_text()
        assert "administrator" in log and logins["administrator"] in log
        incidents = demo.query("SELECT count(*) FROM reports_incidentreport")[0][0]
        patrols = demo.query("SELECT count(*) FROM patrols_patrolplan")[0][0]
        assert incidents >= 50 and patrols >= 50

        context = browser.new_context(viewport={"width": 1024, "height": 768})
        errors = []
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{demo.url}/login/")
        page.fill("input[name=username]", "administrator")
        page.fill("input[name=password]", logins["administrator"])
        page.click("button[type=submit], input[type=submit]")
        # An administrator sets up the second factor at the first login (the key read off
        # the page, as an authenticator app would).
        second_factor_through_the_pages(page, None, f"{demo.url}/")
        page.wait_for_url(f"{demo.url}/")
        base_id = demo.query("SELECT id FROM core_forwardbase WHERE name = 'Jermuk'")[0][0]
        page.goto(f"{demo.url}/admin/core/forwardbase/{base_id}/change/")
        page.wait_for_selector(".leaflet-container")
        # Our own province layer is drawn (SVG paths), with no tile server anywhere.
        page.wait_for_function(
            """() => {
                const map = document.querySelector('.leaflet-container[data-layers-total]');
                return map && map.dataset.layersLoaded === map.dataset.layersTotal
                    && map.dataset.layersFailed === '0'
                    && map.querySelectorAll('path').length >= 11;
            }"""
        )
        page.screenshot(path=str(tmp_path / "demo-admin-map.png"))
        context.close()
        assert errors == []

        # The server is gunicorn, as in production: fifty tablets at once are all answered
        # (the development server reset 16-27 of them: bench/parallel_clients.py).
        login = {"username": "monitor", "password": logins["monitor"], "device_name": "burst"}
        status, answer = post_json(demo.url, "/api/auth/login/", login)
        assert status == 201, answer
        outcomes = burst_of_tablets(demo.url, json.loads(answer)["token"], clients=50)
        assert outcomes == [201] * 50
        assert demo.query(
            "SELECT count(*), count(DISTINCT uuid) FROM reports_incidentreport"
            " WHERE description LIKE 'Burst report %'"
        ) == [(50, 50)]
        # Static files as production serves them: hashed names cached for ever, compressed.
        with urllib.request.urlopen(f"{demo.url}/login/", timeout=10) as response:  # noqa: S310
            page_html = response.read().decode()
        stylesheet = re.search(r'href="(/static/core/missionapp\.[0-9a-f]{12}\.css)"', page_html)
        assert stylesheet, "the login page links no hashed stylesheet"
        connection = http.client.HTTPConnection("127.0.0.1", demo.port, timeout=10)
        connection.request("GET", stylesheet[1], headers={"Accept-Encoding": "gzip, br"})
        response = connection.getresponse()
        assert (response.status, response.headers["Content-Encoding"]) == (200, "br")
        assert "immutable" in response.headers["Cache-Control"]
        connection.close()
    finally:
        demo.ctrl_c()
    assert "Stopped web, worker, beat and sealer." in demo.log()

    # A second run is harmless: nothing is duplicated, the same logins come back.
    counts = demo.query(COUNTS)
    again = Demo(var_dir, free_port(), tmp_path / "demo-again.log")
    try:
        again.wait_until_serving()
        assert again.query(COUNTS) == counts
        assert read_logins(var_dir / "demo-logins.txt") == logins
    finally:
        again.ctrl_c()

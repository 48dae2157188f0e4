"""Logs as JSON lines (LOG_FORMAT, production's default), with the request's id, user and
path; and a real gunicorn with two workers, the hooks its config must call, JSON access log
lines and metrics summed over its workers (PROMETHEUS_MULTIPROC_DIR)."""

import io
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from datetime import datetime
from http.client import HTTPConnection

import pytest
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from conftest import BASE_DIR, _process_env, stop_process, wait_for
from core.logs import JsonFormatter
from core.tests.test_healthz import free_port
from tests.test_production_stack import _production_env, _run_python

LOG_SOMETHING = """
import logging, django
django.setup()
logging.getLogger("missionapp.security").warning("refused %s", "GET /x/")
try:
    1 / 0
except ZeroDivisionError:
    logging.getLogger("reports.tasks").exception("the task failed")
"""


def json_lines(text):
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines, "no log lines"
    return [json.loads(line) for line in lines]  # every line one JSON object


def test_production_logs_json_lines_with_time_zone_level_logger_and_message():
    result = _run_python(LOG_SOMETHING, _production_env())
    assert result.returncode == 0, result.stderr

    security, failure = json_lines(result.stderr)
    assert security["level"] == "WARNING" and security["logger"] == "missionapp.security"
    assert security["message"] == "refused GET /x/"
    assert datetime.fromisoformat(security["time"]).utcoffset() is not None
    assert failure["logger"] == "reports.tasks" and failure["level"] == "ERROR"
    assert "ZeroDivisionError" in failure["exception"]


def test_log_format_plain_gives_lines_of_text_and_another_value_is_refused():
    plain = _run_python(LOG_SOMETHING, _production_env(LOG_FORMAT="plain"))
    assert plain.returncode == 0, plain.stderr
    assert "WARNING missionapp.security refused GET /x/" in plain.stderr
    assert not plain.stderr.lstrip().startswith("{")

    wrong = _run_python(LOG_SOMETHING, _production_env(LOG_FORMAT="xml"))
    assert wrong.returncode != 0 and 'LOG_FORMAT must be "json" or "plain"' in wrong.stderr


@pytest.fixture
def json_security_log():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("missionapp.security")
    logger.addHandler(handler)
    yield stream
    logger.removeHandler(handler)


@pytest.mark.django_db
def test_a_line_logged_during_a_request_carries_its_id_user_and_path(
    client, users, json_security_log
):
    client.force_login(users["monitor"])
    response = client.get(reverse("patrol-approvals"), HTTP_X_REQUEST_ID="proxy-id-42")

    assert response.status_code == 403
    assert response["X-Request-ID"] == "proxy-id-42"
    (line,) = [x for x in json_lines(json_security_log.getvalue()) if "refused" in x["message"]]
    assert line["request_id"] == "proxy-id-42"
    assert line["user"] == users["monitor"].username
    assert line["path"] == reverse("patrol-approvals") and line["method"] == "GET"


@pytest.mark.django_db
def test_a_request_id_that_is_not_a_plain_token_is_replaced(client):
    response = client.get(reverse("healthz"), HTTP_X_REQUEST_ID='x" injected {}')
    assert len(response["X-Request-ID"]) == 32 and response["X-Request-ID"].isalnum()


GUNICORN_CONFIG = BASE_DIR / "missionapp" / "gunicorn.conf.py"  # the demo's and production's


def _get(port, path, **headers):
    conn = HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request("GET", path, headers={"Host": "localhost", **headers})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        conn.close()


def _count(text, view):
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "missionapp_http_request_duration_seconds_count" and (
                sample.labels.get("view") == view and sample.labels.get("status") == "200"
            ):
                return sample.value
    return 0


@pytest.mark.django_db(transaction=True)
def test_gunicorn_workers_metrics_add_up_and_its_access_log_is_json(tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "histogram_999999.db").write_bytes(b"left by an earlier run")
    port = free_port()
    out, err = tmp_path / "stdout.log", tmp_path / "stderr.log"
    env = {**_process_env(tmp_path / "mail"), "PYTHONUNBUFFERED": "1", "LOG_FORMAT": "json",
           "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "GUNICORN_WORKERS": "2",
           "GUNICORN_BIND": f"127.0.0.1:{port}"}  # fmt: skip
    with open(out, "w") as stdout, open(err, "w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "missionapp.wsgi:application",
             f"--config={GUNICORN_CONFIG}"],
            cwd=BASE_DIR, env=env, stdout=stdout, stderr=stderr,
        )  # fmt: skip
    ids, errors = [], []

    def up():
        try:
            return _get(port, "/not-a-page/")[0] == 404
        except OSError:
            return proc.poll() is not None

    def twenty_requests():
        def client():
            try:
                for _ in range(5):
                    status, headers, _ = _get(port, "/healthz")
                    assert status == 200
                    ids.append(headers["X-Request-ID"])
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=client) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors

    def histogram_pids():
        return {int(p.stem.rsplit("_", 1)[1]) for p in metrics_dir.glob("histogram_*.db")}

    try:
        wait_for(up, timeout=60, message="gunicorn to answer")
        assert proc.poll() is None, err.read_text()[-3000:]
        assert not (metrics_dir / "histogram_999999.db").exists()  # on_starting emptied it
        twenty_requests()
        assert _count(_get(port, "/metrics")[2], "healthz") == 20

        # A worker killed and replaced: what it counted still counts (child_exit ran), and
        # what the others count after is added to it.
        os.kill(min(histogram_pids()), signal.SIGKILL)
        wait_for(lambda: err.read_text().count("Booting worker") >= 3, timeout=60,
                 message="gunicorn to replace the worker")  # fmt: skip
        wait_for(up, timeout=30, message="gunicorn to answer again")
        twenty_requests()
        assert _count(_get(port, "/metrics")[2], "healthz") == 40
        assert len(histogram_pids()) >= 2  # the sum is over several processes' files
    finally:
        stop_process(proc)

    access = [line for line in json_lines(out.read_text()) if line["logger"] == "gunicorn.access"]
    healthz = [line for line in access if line["path"] == "/healthz"]
    assert len(healthz) == 40
    assert {line["request_id"] for line in healthz} == set(ids)
    first = healthz[0]
    assert first["method"] == "GET" and first["status"] == 200 and first["duration_ms"] > 0
    assert datetime.fromisoformat(first["time"]).utcoffset() is not None
    # gunicorn's own lines (stderr) are JSON too.
    booted = [line for line in json_lines(err.read_text()) if "Booting worker" in line["message"]]
    assert booted and all(line["logger"] == "gunicorn.error" for line in booted)

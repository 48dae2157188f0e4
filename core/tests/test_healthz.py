"""/healthz: database, broker, the worker's heartbeat and beat's last send, with real
processes; a dead worker leaves web healthy (200, degraded), only a lost database is 503,
and nothing internal is told."""

import json
import subprocess
import sys
import time
from datetime import datetime
from http.client import HTTPConnection

import pytest
from django.conf import settings
from django.urls import reverse

from conftest import BASE_DIR, _process_env, free_port, start_worker, stop_process, wait_for
from core.tasks import health_beat


def health(client):
    response = client.get(reverse("healthz"))
    return response.status_code, response.json()


def assert_aware_iso(text):
    when = datetime.fromisoformat(text)
    assert when.utcoffset() is not None, f"{text} has no time zone"
    return when


@pytest.mark.django_db
def test_with_no_heartbeat_recorded_it_is_degraded_but_answers_200(client):
    status, body = health(client)

    assert status == 200
    assert body["status"] == "degraded"
    assert body["database"]["status"] == "ok"
    assert body["broker"]["status"] == "ok"
    assert body["broker"]["kind"] == settings.CELERY_BROKER_URL.split(":", 1)[0]
    limit = settings.HEALTH_WORKER_MAX_AGE_SECONDS
    assert body["worker"] == {
        "status": "missing", "last_seen": None, "age_seconds": None, "max_age_seconds": limit
    }  # fmt: skip
    assert body["beat"]["status"] == "missing"


@pytest.mark.django_db(transaction=True)
def test_a_live_worker_shows_fresh_and_once_it_is_gone_it_goes_stale(client, tmp_path, settings):
    worker = start_worker(
        tmp_path / "worker.log", tmp_path / "mail", hostname="health@%h",
        queues=["health-test"], env={"HEALTH_WORKER_HEARTBEAT_SECONDS": "0.3"},
    )  # fmt: skip
    try:
        _, body = wait_for(
            lambda: (found := health(client))[1]["worker"]["status"] == "ok" and found,
            timeout=20, message="the worker's heartbeat",
        )  # fmt: skip
        seen = assert_aware_iso(body["worker"]["last_seen"])
        assert 0 <= body["worker"]["age_seconds"] < settings.HEALTH_WORKER_MAX_AGE_SECONDS
        # It keeps beating: a later heartbeat replaces this one.
        wait_for(
            lambda: assert_aware_iso(health(client)[1]["worker"]["last_seen"]) > seen,
            timeout=10, message="a second heartbeat",
        )  # fmt: skip
    finally:
        stop_process(worker)

    settings.HEALTH_WORKER_MAX_AGE_SECONDS = 1.0
    time.sleep(1.5)
    status, body = health(client)
    assert status == 200  # compose must not restart web for a dead worker
    assert body["status"] == "degraded"
    assert body["worker"]["status"] == "stale" and body["worker"]["age_seconds"] > 1.0
    assert body["database"]["status"] == "ok"


@pytest.mark.django_db(transaction=True)
def test_beat_records_its_sends_and_the_worker_runs_its_health_task(
    client, tmp_path, celery_worker
):
    log_path = tmp_path / "beat.log"
    env = {**_process_env(tmp_path / "mail"), "HEALTH_BEAT_INTERVAL_SECONDS": "0.5",
           "PYTHONUNBUFFERED": "1"}  # fmt: skip
    with open(log_path, "w") as log:
        beat = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "missionapp", "beat", "--loglevel=INFO",
             f"--schedule={tmp_path / 'beat-schedule'}"],
            cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        _, body = wait_for(
            lambda: (found := health(client))[1]["beat"].get("last_run_by_worker") and found,
            timeout=40, message="beat's health task to be sent and run",
        )  # fmt: skip
    finally:
        stop_process(beat)
    assert body["beat"]["status"] == "ok", log_path.read_text()[-2000:]
    sent = assert_aware_iso(body["beat"]["last_sent"])
    assert assert_aware_iso(body["beat"]["last_run_by_worker"]) >= sent.replace(microsecond=0)
    assert "core.tasks.health_beat" in log_path.read_text()


@pytest.mark.django_db
def test_the_health_task_is_scheduled_and_running_it_twice_changes_only_the_time(client):
    entry = settings.CELERY_BEAT_SCHEDULE["health-beat"]
    assert entry["task"] == "core.tasks.health_beat"
    assert entry["options"]["expires"] <= entry["schedule"]  # a backlog of them is dropped

    health_beat.apply()
    first = health(client)[1]["beat"]["last_run_by_worker"]
    health_beat.apply()
    second = health(client)[1]["beat"]
    assert assert_aware_iso(second["last_run_by_worker"]) >= assert_aware_iso(first)
    # Running it is not beat sending: beat's own record stays missing.
    assert second["status"] == "missing"


@pytest.mark.django_db
def test_an_unreachable_redis_broker_is_degraded_and_does_not_tell_its_url(client, settings):
    # A real connection to a port nothing listens on.
    settings.CELERY_BROKER_URL = f"redis://:s3cret-pass@127.0.0.1:{free_port()}/3"
    status, body = health(client)

    assert status == 200 and body["status"] == "degraded"
    assert body["broker"] == {"status": "error", "kind": "redis", "error": "unreachable"}
    assert "s3cret" not in json.dumps(body) and "127.0.0.1" not in json.dumps(body)


@pytest.mark.django_db
def test_a_filesystem_broker_folder_that_cannot_be_made_is_degraded_and_not_told(
    client, settings, tmp_path
):
    # Where a file stands, the queue folder cannot be made (even by root, who may write
    # anywhere).
    (tmp_path / "broker").write_text("not a folder")
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path / "broker/queue")}
    status, body = health(client)

    assert status == 200 and body["status"] == "degraded"
    assert body["broker"]["status"] == "error"
    assert str(tmp_path) not in json.dumps(body)


def _missing_database_url():
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("spatialite"):
        return "spatialite:////nonexistent-folder-healthz/secret-name.sqlite3", "secret-name"
    return "postgis://postgres:pw-healthz@127.0.0.1:5432/missing_db_healthz", "missing_db_healthz"


def test_a_lost_database_answers_503_without_telling_why(tmp_path):
    """A real gunicorn pointed at a database that is not there."""
    url, name = _missing_database_url()
    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    env = {**_process_env(tmp_path / "mail"), "DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "missionapp.wsgi:application",
             f"--bind=127.0.0.1:{port}", "--workers=1", "--log-level=info"],
            cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def ask():
        try:
            conn = HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/healthz", headers={"Host": "localhost"})
            response = conn.getresponse()
            return response.status, response.read().decode()
        except OSError:
            return None

    try:
        status, text = wait_for(ask, timeout=60, message="gunicorn to answer")
    finally:
        stop_process(proc)
    body = json.loads(text)
    assert status == 503, text
    assert body["status"] == "error"
    assert body["database"] == {"status": "error", "error": "unreachable"}
    if settings.CACHES["default"]["BACKEND"].endswith("DatabaseCache"):
        # The heartbeats live in the lost database: unknown, and said so shortly.
        assert body["worker"] == {"status": "unknown", "error": "heartbeat store unreachable"}
    for internal in (name, "127.0.0.1", "pw-healthz", "nonexistent", "Error", "Traceback"):
        assert internal not in text, f"/healthz told {internal!r}: {text}"
    # The operator finds the reason in the log.
    logged = log_path.read_text()
    assert "health: the database is unreachable" in logged and "Traceback" in logged

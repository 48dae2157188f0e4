"""The operator's view of the running system: heartbeats of the worker and beat, and /healthz.

Heartbeats are timestamps in the shared cache (CACHE_URL: Redis in production, a table of the
database on the embedded stack), not messages on the broker, so they work the same on Redis
and on the embedded filesystem broker, and reading them costs /healthz one cache read:

- the worker: a daemon thread of the worker's main process, started when the worker is ready
  (`worker_ready`), writes the time every HEALTH_WORKER_HEARTBEAT_SECONDS. It needs neither
  beat nor Celery's event heartbeats (`heartbeat_sent` fires only with events on, and the
  worker runs --without-gossip; on the filesystem broker events would be files nobody reads).
  A thread, not a timer of the consumer's event loop: on SpatiaLite a cache write can wait
  for the database's write lock (up to its 30 s timeout), which must not stall the consumer;
- beat: in the beat process only (connected at `beat_init`), `before_task_publish` writes the
  time beat last sent a task (at most every BEAT_RECORD_MIN_SECONDS). Beat also sends
  `core.tasks.health_beat` every HEALTH_BEAT_INTERVAL_SECONDS, so it sends regularly whatever
  the rest of its schedule, and the worker that runs it records that it consumes what beat
  sends (idempotent: it only sets a timestamp).

/healthz is public (the load balancer's probe, compose's health check): it says ok/degraded
/error per component with short generic words; the error itself goes to the log. Only an
unreachable database answers 503 (restarting web cannot fix a dead worker, and a web that
is restarted over and over serves nobody); anything else not ok answers 200 "degraded".
"""

import contextlib
import logging
import os
import threading
import time
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

log = logging.getLogger(__name__)

WORKER_KEY = "health:worker:last_seen"
BEAT_KEY = "health:beat:last_sent"
BEAT_TASK_KEY = "health:beat:last_run_by_worker"
BEAT_RECORD_MIN_SECONDS = 5.0

OK, DEGRADED, ERROR = "ok", "degraded", "error"


def _now():
    return datetime.now(UTC)


def _record(key, when=None):
    """Write a heartbeat; a failure is logged, never raised (a heartbeat must not stop the
    process it reports on)."""
    try:
        cache.set(key, (when or _now()).isoformat(), timeout=None)
        return True
    except Exception:  # noqa: BLE001 - the cache or its database is down: said by /healthz
        log.warning("could not record the heartbeat %s", key, exc_info=True)
        return False


# --- The worker's heartbeat -------------------------------------------------------------------

_worker_stop = threading.Event()


def worker_heartbeat_start():
    """Called at `worker_ready` in the worker's main process (missionapp/celery.py)."""
    _worker_stop.clear()
    _record(WORKER_KEY)
    interval = settings.HEALTH_WORKER_HEARTBEAT_SECONDS

    def beat():
        while not _worker_stop.wait(interval):
            # This thread's own connection (the database cache): drop it if broken or old.
            close_old_connections()
            _record(WORKER_KEY)
        close_old_connections()

    threading.Thread(target=beat, name="health-heartbeat", daemon=True).start()


def worker_heartbeat_stop():
    _worker_stop.set()


# --- Beat's last send -------------------------------------------------------------------------

_beat_last_recorded = [0.0]


def beat_publish_recorded(sender=None, **kwargs):
    """`before_task_publish` in the beat process: beat is sending."""
    if time.monotonic() - _beat_last_recorded[0] < BEAT_RECORD_MIN_SECONDS:
        return
    if _record(BEAT_KEY):
        _beat_last_recorded[0] = time.monotonic()


def beat_task_ran():
    """core.tasks.health_beat, in the worker: what beat sent was consumed."""
    _record(BEAT_TASK_KEY)


# --- The checks -------------------------------------------------------------------------------


def database_check():
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - any failure means unreachable; logged in full
        log.exception("health: the database is unreachable")
        return {"status": ERROR, "error": "unreachable"}
    return {"status": OK, "latency_ms": round((time.perf_counter() - started) * 1000, 1)}


_redis = {}


def redis_client(url):
    # One client (and its connection pool) per process: a probe every 30 s reuses it.
    if url not in _redis:
        import redis

        _redis[url] = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
    return _redis[url]


def broker_check():
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem://"):
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        folder = options["data_folder_in"]
        # Made when the Celery app is configured (missionapp/celery.py), which a web process
        # does only when it first sends a task: made here too.
        with contextlib.suppress(OSError):
            os.makedirs(folder, exist_ok=True)
        if os.path.isdir(folder) and os.access(folder, os.W_OK | os.X_OK):
            return {"status": OK, "kind": "filesystem"}
        log.error("health: the broker's queue folder %s is missing or not writable", folder)
        return {"status": ERROR, "kind": "filesystem", "error": "queue folder not writable"}
    if url.startswith(("redis://", "rediss://")):
        started = time.perf_counter()
        try:
            redis_client(url).ping()
        except Exception:  # noqa: BLE001 - logged in full, said shortly
            log.exception("health: the broker (Redis) does not answer")
            return {"status": ERROR, "kind": "redis", "error": "unreachable"}
        ms = round((time.perf_counter() - started) * 1000, 1)
        return {"status": OK, "kind": "redis", "latency_ms": ms}
    return {"status": "unknown", "kind": "other"}


def heartbeats_recorded():
    """The recorded times, one cache read; None when the cache cannot be read."""
    try:
        found = cache.get_many([WORKER_KEY, BEAT_KEY, BEAT_TASK_KEY])
    except Exception:  # noqa: BLE001 - logged in full, said shortly
        log.exception("health: the cache holding the heartbeats cannot be read")
        return None
    return {key: datetime.fromisoformat(value) for key, value in found.items()}


def _age(recorded, key, max_age, now, field):
    if recorded is None:
        return {"status": "unknown", "error": "heartbeat store unreachable"}
    when = recorded.get(key)
    if when is None:
        return {"status": "missing", field: None, "age_seconds": None, "max_age_seconds": max_age}
    age = max(0.0, (now - when).total_seconds())
    return {
        "status": OK if age <= max_age else "stale",
        field: when.isoformat(),
        "age_seconds": round(age, 1),
        "max_age_seconds": max_age,
    }


def health_report():
    """(the report, its HTTP status)."""
    database = database_check()
    broker = broker_check()
    recorded = heartbeats_recorded()
    now = _now()
    worker = _age(recorded, WORKER_KEY, settings.HEALTH_WORKER_MAX_AGE_SECONDS, now, "last_seen")
    beat = _age(recorded, BEAT_KEY, settings.HEALTH_BEAT_MAX_AGE_SECONDS, now, "last_sent")
    if recorded is not None and BEAT_TASK_KEY in recorded:
        beat["last_run_by_worker"] = recorded[BEAT_TASK_KEY].isoformat()
    if database["status"] != OK:
        status = ERROR
    elif all(part["status"] == OK for part in (broker, worker, beat)):
        status = OK
    else:
        status = DEGRADED
    report = {"status": status, "database": database, "broker": broker, "worker": worker,
              "beat": beat}  # fmt: skip
    return report, 503 if status == ERROR else 200


@require_GET
@never_cache
def healthz(request):
    """For load balancers and the compose health check. 503 only when the database is
    unreachable; a missing worker or beat is 200 "degraded" (see the module's docstring)."""
    report, status = health_report()
    return JsonResponse(report, status=status)

"""pytest: the dev settings, with fast hashing, a captured outbox and a file test database.

The test database is a file (SpatiaLite) or a real PostgreSQL database so that a Celery worker
started by the tests, in its own process, sees the same rows.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

from .dev import *  # noqa: F403
from .dev import DATABASES, MEDIA_STORAGE, MIDDLEWARE, VAR_DIR

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Django's test outbox, unless EMAIL_URL says otherwise (the worker the tests start writes
# its mail to files the tests read).
if not os.environ.get("EMAIL_URL"):
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
if DATABASES["default"]["ENGINE"].endswith("spatialite"):
    # One file per test run, so that two runs on one machine never share a database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test_missionapp_{os.getpid()}.sqlite3")}
# No base layer unless a test loads one (core/tests/conftest.py `basemap`): a developer's
# own var/basemap/ must not change what the tests see.
BASEMAP_MBTILES = VAR_DIR / f"test-basemap-{os.getpid()}" / "none.mbtiles"
# The static files from their sources (the finders), not a collection that may be stale.
STORAGES = {
    # The filesystem, unless MEDIA_S3_BUCKET is set (the processes a test starts on its bucket).
    "default": MEDIA_STORAGE,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MIDDLEWARE = [name for name in MIDDLEWARE if not name.startswith("whitenoise.")]

# Each test run gets its own embedded broker folder, apart from a running demo and from other
# runs; the worker the tests start is told the same folder.
if CELERY_BROKER_URL.startswith("filesystem://"):  # noqa: F405
    CELERY_BROKER_DIR = Path(
        os.environ.get("MISSIONAPP_TEST_BROKER_DIR") or VAR_DIR / f"test-broker-{os.getpid()}"
    )
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,  # noqa: F405
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
    }
# pytest-xdist (`make test` runs the suite in two processes, gw0 and gw1): each process gets
# its own Redis database, the configured one plus its number, so that the Celery worker each
# starts (and its --purge) sees only that process's tasks. The SpatiaLite file and the
# filesystem broker are per process already (by pid); pytest-django gives each process its own
# PostGIS test database. The processes the tests start are not told PYTEST_XDIST_WORKER
# (conftest._process_env): they get the URL already moved.
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _XDIST_WORKER.startswith("gw") and CELERY_BROKER_URL.startswith("redis"):  # noqa: F405
    _broker = urlsplit(CELERY_BROKER_URL)  # noqa: F405
    _db = int(_broker.path.strip("/") or 0) + int(_XDIST_WORKER.removeprefix("gw"))
    CELERY_BROKER_URL = _broker._replace(path=f"/{_db}").geturl()
    # Celery reads the CELERY_BROKER_URL environment variable before its settings
    # (celery.app.utils.Settings.broker_url): moved here too, or this process would still send
    # to the configured database, to the other process's worker.
    os.environ["CELERY_BROKER_URL"] = CELERY_BROKER_URL

# The cache on Redis (CACHE_URL=redis://...) moves the same way: the login counters of one
# process's tests must not lock out the other's, and conftest empties it before each test.
if _XDIST_WORKER.startswith("gw") and CACHES["default"]["BACKEND"].endswith("RedisCache"):  # noqa: F405
    _cache = urlsplit(CACHES["default"]["LOCATION"])  # noqa: F405
    _db = int(_cache.path.strip("/") or 0) + int(_XDIST_WORKER.removeprefix("gw"))
    CACHES["default"]["LOCATION"] = _cache._replace(path=f"/{_db}").geturl()  # noqa: F405
    os.environ["CACHE_URL"] = CACHES["default"]["LOCATION"]  # noqa: F405

CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "test-celerybeat-schedule")
# The audit anchors of this run, apart from a running demo's (whose chain is another one: its
# anchors made this run's chain look rewritten). The processes the tests start are told it.
if not os.environ.get("AUDIT_ANCHOR_FILE"):
    AUDIT_ANCHOR_FILE = VAR_DIR / f"test_audit_anchors_{os.getpid()}.jsonl"

"""Settings of the ingest benchmark: production's, plus the bench-only `floor` app and its URL.

Only `bench/ingest.py` uses this module (gunicorn and the Celery worker it starts); the real
application never installs `bench.floor`. Everything else, including what production refuses
to start without, comes from `missionapp.settings.production` unchanged.
"""

from missionapp.settings.production import *  # noqa: F403
from missionapp.settings.production import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.floor"]
ROOT_URLCONF = "bench.urls"

"""`make test` runs the suite in two pytest-xdist processes, each with its own test database
and its own Celery worker: a task this process sends must reach its own worker, never the
other process's (which would look for the rows in the other database)."""

from django.conf import settings

from conftest import _process_env
from missionapp.celery import app


def test_this_process_sends_its_tasks_where_its_own_worker_listens(tmp_path):
    # Celery prefers the CELERY_BROKER_URL environment variable to its settings: both must
    # name the broker the settings moved this process to.
    assert app.conf.broker_url == settings.CELERY_BROKER_URL
    worker_env = _process_env(tmp_path)
    assert worker_env["CELERY_BROKER_URL"] == settings.CELERY_BROKER_URL
    assert "PYTEST_XDIST_WORKER" not in worker_env  # or the worker would move it again

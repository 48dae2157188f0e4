import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "missionapp.settings.dev")

app = Celery("missionapp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _make_broker_folders(sender, **kwargs):
    # kombu's filesystem transport expects its folders to exist.
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "control_folder"):
        if options.get(key):
            os.makedirs(options[key], exist_ok=True)


# Connections in the worker, as in the web: Celery's Django fixup closes the database
# connection before and after every task unless CELERY_DB_REUSE_MAX is set (settings/base.py
# sets it when CONN_MAX_AGE keeps connections), which made every task open a new PostgreSQL
# session (authentication, backend start, catalogue caches: most of the database's CPU per
# report). Instead, each task boundary does what a request boundary does in Django: close the
# connection if it is broken, in a failed state or older than CONN_MAX_AGE (0 on SpatiaLite:
# closed after each task, as before), else keep it for the next task of this pool process.
@signals.task_prerun.connect
@signals.task_postrun.connect
def _close_old_connections(sender=None, **kwargs):
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return  # an eager task runs inside the caller's transaction: leave its connection
    from django.db import close_old_connections

    close_old_connections()


# Heartbeats for /healthz (core/health.py): the worker's main process records that it lives,
# beat records when it sends. In the shared cache, so on either broker.
@signals.worker_ready.connect
def _worker_heartbeat_start(sender=None, **kwargs):
    from core import health

    health.worker_heartbeat_start()


@signals.worker_shutdown.connect
def _worker_heartbeat_stop(sender=None, **kwargs):
    from core import health

    health.worker_heartbeat_stop()


@signals.beat_init.connect
@signals.beat_embedded_init.connect
def _beat_sends_recorded(sender=None, **kwargs):
    # Only in the beat process (`celery beat`, or the one `worker -B` starts): the web and the
    # worker send tasks too.
    from core import health

    signals.before_task_publish.connect(health.beat_publish_recorded, weak=False)

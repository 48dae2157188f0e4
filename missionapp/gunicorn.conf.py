"""gunicorn's settings: the same server for a forward base's single machine (`make demo`,
`manage.py run_stack`) and for production's web role (docker/entrypoint.sh).

gunicorn rather than Django's development server: runserver listens with a queue of 10
connections and reset 16-27 of 50 tablets syncing at once; gunicorn's listen queue is
`backlog` (2048) long, so a burst waits its turn instead of being refused
(bench/parallel_clients.py measures it).

Threaded workers (gthread) rather than one request per process (sync): tablets on a weak
link send photo parts slowly and keep connections open, and a sync worker is held for as long
as its client takes; a thread waiting on a slow socket costs little. Each thread keeps its own
database connection (CONN_MAX_AGE on PostgreSQL): at most workers x threads connections.

Every value can be changed from the environment (.env.example).
"""

import os
import shutil
import tempfile

# Request counts and latencies of every worker, added up when /metrics is scraped
# (prometheus-client's multiprocess mode, core/metrics.py): a folder of this server's own,
# unless the environment names one. Set before the workers import prometheus-client.
_own_metrics_dir = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _shm = "/dev/shm"  # noqa: S108 - memory, not a container's overlay filesystem
    _own_metrics_dir = tempfile.mkdtemp(
        prefix="missionapp-metrics-", dir=_shm if os.path.isdir(_shm) else None
    )
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _own_metrics_dir

from core.logs import gunicorn_logconfig_dict  # noqa: E402
from core.metrics import gunicorn_child_exit, gunicorn_on_starting  # noqa: E402

bind = [os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")]
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Connections waiting to be accepted: a burst of tablets after the signal returns.
backlog = int(os.environ.get("GUNICORN_BACKLOG", "2048"))
# A request running longer is stuck (the daily summary's PDF is built by the worker, not here).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Replace a worker after this many requests (0: never). Off by default: each replaced
# worker leaves its request counts in the metrics folder for good (prometheus-client's
# multiprocess mode), which a flood of requests would turn into thousands of files in memory.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
# The workers' heartbeat files in memory, not on a container's overlay filesystem (gunicorn
# makes its own unlinked files there, mode 0600).
if os.path.isdir("/dev/shm"):  # noqa: S108
    worker_tmp_dir = "/dev/shm"  # noqa: S108
accesslog = "-"
errorlog = "-"
# gunicorn's control socket would be one path per user (~/.gunicorn/gunicorn.ctl) shared by
# every instance on the machine (two nodes, a demo beside a test run): not used, not made.
control_socket_disable = True

# JSON lines in production (LOG_FORMAT, core/logs.py), gunicorn's own text otherwise; the
# access line carries the request id the application gives the response.
logconfig_dict = gunicorn_logconfig_dict()
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(D)sus %({x-request-id}o)s'
on_starting = gunicorn_on_starting  # empties the metrics folder of an earlier run
child_exit = gunicorn_child_exit  # a replaced worker's live gauges stop counting


def on_exit(server):
    """The metrics folder made for this server goes with it."""
    if _own_metrics_dir:
        shutil.rmtree(_own_metrics_dir, ignore_errors=True)

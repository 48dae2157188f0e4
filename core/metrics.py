"""Prometheus metrics: request latency, and the backlogs computed when scraped.

prometheus-client directly, not django-prometheus: we want one histogram by view, method and
status, a few gauges computed at scrape time and our own access rule; django-prometheus
would add two middlewares, a dozen per-process metric families and database/cache wrappers
(query counters that change the database backend) that we would then have to switch off.

- `RequestMetricsMiddleware` (first in MIDDLEWARE): `missionapp_http_request_duration_seconds`
  by view name (the URL pattern's name, bounded; "unresolved" for a 404), method and status.
- `BacklogCollector`, at each scrape: the Celery queue's length (Redis: LLEN; the embedded
  broker: its queue folder's message files), the backlogs the apps register
  (`register_backlog`: the outbox of itinerary notifications not yet sent and of summary
  deliveries pending, flash alerts due and not sent) and audit entries waiting to be sealed
  (each one COUNT on a partial or status index, or a small table), and the ages of the
  worker's and beat's heartbeats (one cache read). Bounded: 4 COUNTs and 1 cache read.
- Several gunicorn workers: each is its own process with its own histogram. With
  PROMETHEUS_MULTIPROC_DIR set in the environment (before gunicorn starts: prometheus-client
  reads it at import), each process writes its values to files there and a scrape adds them
  up (MultiProcessCollector). gunicorn's config must call `gunicorn_on_starting` (empties the
  folder) and `gunicorn_child_exit` (marks a dead worker's files).

/metrics is not public: a client (core.security.client_address) in METRICS_ALLOWED_NETWORKS,
or with "Authorization: Bearer <METRICS_TOKEN>". Anyone else: 403, logged to
missionapp.security.

This module imports no models at its top: gunicorn's config imports it for the hooks before
Django is set up.
"""

import hmac
import ipaddress
import logging
import os
import re
import time
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)
security_log = logging.getLogger("missionapp.security")
# No `_created` series beside every counter and histogram: nothing here reads them.
disable_created_metrics()

REQUEST_DURATION = Histogram(
    "missionapp_http_request_duration_seconds",
    "Time from the request reaching Django to the response leaving it, by view.",
    ["view", "method", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


class RequestMetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name or "unnamed") if match else "unresolved"
        method = request.method if request.method in _METHODS else "other"
        REQUEST_DURATION.labels(view, method, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response


# --- The gauges computed at scrape time ------------------------------------------------------


def _queue_lengths():
    """{queue name: messages waiting}; a broker that cannot be asked is left out (logged)."""
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    url = settings.CELERY_BROKER_URL
    try:
        if url.startswith("filesystem://"):
            folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
            # kombu names a message <time>_<uuid>.<queue>.msg; claimed ones live elsewhere.
            suffix = f".{queue}.msg"
            if not folder.is_dir():
                return {queue: 0}  # no task sent yet: made with the first
            with os.scandir(folder) as entries:
                return {queue: sum(1 for e in entries if e.name.endswith(suffix))}
        if url.startswith(("redis://", "rediss://")):
            from core.health import redis_client

            # kombu's Redis transport keeps a queue as a list named after it; messages with a
            # priority go to "<queue>\x06\x16<n>" lists (we send none, so the plain list).
            return {queue: redis_client(url).llen(queue)}
    except Exception:  # noqa: BLE001 - a scrape must still answer the rest
        log.exception("metrics: could not read the broker's queue length")
    return {}


# What waits, counted by the app that owns it: core does not import the apps (they register
# in their AppConfig.ready(), as audit anchor sources do).
_backlogs = {}  # metric name -> (help, [(labels, count function)])


def register_backlog(name, documentation, count, **labels):
    """Report `count()` (a cheap COUNT: one query) as the gauge `name` with these labels at
    every scrape. Registering the same name and labels again replaces the function."""
    _, entries = _backlogs.setdefault(name, (documentation, []))
    entries[:] = [(known, fn) for known, fn in entries if known != labels] + [(labels, count)]


def _audit_unsealed():
    from core.audit.models import AuditEntry

    # The partial index audit_waiting_idx holds exactly these rows.
    return AuditEntry.objects.filter(seq__isnull=True).count()


register_backlog(
    "missionapp_audit_entries_unsealed",
    "Audit entries waiting to be sealed into the chain.",
    _audit_unsealed,
)


class BacklogCollector:
    def collect(self):
        from core import health

        queue = GaugeMetricFamily(
            "missionapp_celery_queue_length", "Tasks waiting on the broker.", labels=["queue"]
        )
        for name, length in _queue_lengths().items():
            queue.add_metric([name], length)
        yield queue

        for name, (documentation, entries) in sorted(_backlogs.items()):
            label_names = sorted(entries[0][0]) if entries else []
            family = GaugeMetricFamily(name, documentation, labels=label_names)
            for labels, count in entries:
                family.add_metric([labels[k] for k in label_names], count())
            yield family

        recorded = health.heartbeats_recorded() or {}
        now = datetime.now(UTC)
        for key, name, what in (
            (health.WORKER_KEY, "missionapp_worker_heartbeat_age_seconds", "worker's heartbeat"),
            (health.BEAT_KEY, "missionapp_beat_last_sent_age_seconds", "beat's last send"),
        ):
            if key in recorded:
                yield GaugeMetricFamily(
                    name,
                    f"Seconds since the {what} (absent: none recorded).",
                    value=max(0.0, (now - recorded[key]).total_seconds()),
                )


class _ThisProcess:
    """The default registry (this process's histogram, process and GC metrics) as a
    collector of the scrape's registry, when not in multiprocess mode."""

    def collect(self):
        yield from REGISTRY.collect()


def _registry():
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(BacklogCollector())
    return registry


# --- Who may read them -----------------------------------------------------------------------


def _allowed_networks():
    return [ipaddress.ip_network(n, strict=False) for n in settings.METRICS_ALLOWED_NETWORKS]


def may_read_metrics(request) -> bool:
    from core import security

    token = settings.METRICS_TOKEN
    given = request.META.get("HTTP_AUTHORIZATION", "")
    if token and given.startswith("Bearer "):
        return hmac.compare_digest(given.removeprefix("Bearer ").encode(), token.encode())
    # By address, only a scraper that connects itself: a request through a proxy (any
    # X-Forwarded-For, or from a proxy TRUSTED_PROXIES names) comes from outside, however it
    # looks: without the header (a proxy not set to send it), or with a client's own header
    # passed on, it would carry the proxy's address or one the client chose.
    remote = security._parse(request.META.get("REMOTE_ADDR", ""))
    trusted = [ipaddress.ip_network(p, strict=False) for p in settings.TRUSTED_PROXIES]
    if remote is None or "HTTP_X_FORWARDED_FOR" in request.META:
        return False
    if any(remote in net for net in trusted):
        return False
    return any(remote in net for net in _allowed_networks())


@require_GET
@never_cache
def metrics(request):
    from core import security

    if not may_read_metrics(request):
        security_log.warning(
            "refused GET %s to %s (connected from %s%s): by address only a scraper in "
            "METRICS_ALLOWED_NETWORKS connecting itself, and no valid METRICS_TOKEN",
            request.path,
            security.client_address(request),
            request.META.get("REMOTE_ADDR", "?"),
            ", through a proxy" if "HTTP_X_FORWARDED_FOR" in request.META else "",
        )
        return HttpResponse("Metrics are not public.\n", status=403, content_type="text/plain")
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)


# --- gunicorn hooks (called from gunicorn's config; see the module docstring) ----------------


_PROMETHEUS_FILE = re.compile(r"(counter|gauge_[a-z]+|histogram|summary)_\d+\.db")


def gunicorn_on_starting(server):
    """Empty PROMETHEUS_MULTIPROC_DIR when gunicorn's master starts: files of processes of
    an earlier run would be added to this run's counts."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for path in Path(folder).glob("*.db"):
            # Only prometheus-client's own files: a folder named by mistake (the var folder,
            # with beat's celerybeat-schedule.db) loses nothing else.
            if _PROMETHEUS_FILE.fullmatch(path.name):
                path.unlink()


def gunicorn_child_exit(server, worker):
    """A gunicorn worker exited: its live gauges no longer count (its histogram stays)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)

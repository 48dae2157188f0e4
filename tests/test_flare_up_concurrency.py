"""A flare-up day: every tablet finds a signal at once while serious incidents fire flash
alerts, a coordinator approves itineraries (sent to both parties by the worker) and a duty
officer reviews reports on the pages. Nothing answers 5xx, nothing deadlocks, every report is
stored once, and every audit entry is sealed into one intact chain by the sealer process.

All real: the live server over HTTP (threads), a Celery worker and the sealer in their own
processes, the test database (SpatiaLite or PostGIS).
"""

import http.client
import json
import secrets
import threading
import time
import uuid
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

import pytest
from django.utils import timezone

from conftest import in_thread, start_sealer, stop_process, wait_for
from core.audit.models import AuditChainHead, AuditEntry
from core.audit.services import audit_chain_verify
from core.models import DeviceToken, ForwardBase
from core.tasks import audit_chain_verify as audit_chain_verify_task
from core.tests.factories import UserFactory
from patrols.models import PatrolPlan
from patrols.services import patrol_plan_submit
from patrols.tests.conftest import make_plan as make_plan  # noqa: F401  (fixtures)
from patrols.tests.conftest import recipients as recipients  # noqa: F401
from patrols.tests.conftest import team as team  # noqa: F401
from reports.models import IncidentReport

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True), pytest.mark.long]

TABLETS, REPORTS_EACH, PLANS = 16, 12, 3
# Near Kornidzor and Tegh (Syunik): where shelling was reported in September 2022.
PLACES = [(46.5311, 39.5481), (46.4706, 39.5587), (46.4200, 39.5000), (46.3500, 39.3000)]


class Http:
    """One keep-alive connection, as a tablet or a browser keeps one."""

    def __init__(self, base_url, headers):
        parts = urlsplit(base_url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.headers = headers

    def request(self, method, path, body=None, content_type="application/json"):
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = content_type
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        return response.status, response.read()


def report_body(i):
    lon, lat = PLACES[i % len(PLACES)]
    serious = i % 4 == 0  # a quarter qualify for a flash alert
    return json.dumps({
        "uuid": str(uuid.uuid4()),
        "observed_at": (timezone.now() - timedelta(minutes=30)).replace(microsecond=0).isoformat(),
        "location": {"type": "Point", "coordinates": [lon + (i % 7) * 1e-3, lat]},
        "category": "shelling" if serious else "small_arms",
        "severity": 4 if serious else 2,
        "description": f"Flare-up test report {i}.",
        "status": "submitted",
    })  # fmt: skip


def test_a_flare_up_day_holds_with_the_worker_and_the_sealer_running(
    live_server,
    celery_worker,
    users,
    team,
    recipients,
    make_plan,
    tmp_path,  # noqa: F811
):
    kapan = ForwardBase.objects.get(name="Kapan")
    tablets = []
    for n in range(TABLETS):
        monitor = UserFactory(username=f"t-flare-{n}", roles=["monitor"], forward_base=kapan)
        _, token = DeviceToken.objects.create(user=monitor, device_name=f"tablet {n}")
        tablets.append(token)
    plans = [make_plan(days_ahead=10 + n) for n in range(PLANS)]
    for plan in plans:
        patrol_plan_submit(plan=plan, by=team["leader"])
    # Logged in with the second factor a coordinator needs.
    _, coordinator_token = DeviceToken.objects.create(
        user=team["coordinator"], device_name="pc", second_factor=True
    )
    duty = users["duty_officer"]
    from django.test import Client

    browser = Client()
    browser.force_login(duty)
    csrf = secrets.token_hex(16)  # Django accepts its own 32-character secret as the token
    cookie = f"sessionid={browser.cookies['sessionid'].value}; csrftoken={csrf}"

    # The worker serves the whole session: only what it logs from here on is this test's.
    worker_log_start = len(celery_worker.log_path.read_text())
    sealer = start_sealer(tmp_path / "sealer.log", tmp_path / "sealer-mail")
    statuses, errors, stop = [], [], threading.Event()

    def tablet(n):
        client = Http(live_server.url, {"Authorization": f"Token {tablets[n]}"})
        for i in range(REPORTS_EACH):
            body = report_body(n * REPORTS_EACH + i)
            status, _ = client.request("POST", "/api/reports/", body)
            statuses.append(("tablet", status))
            if i % 3 == 0:  # a retry after a lost answer: must return the stored report
                status, _ = client.request("POST", "/api/reports/", body)
                statuses.append(("tablet resend", status))

    def coordinator():
        client = Http(live_server.url, {"Authorization": f"Token {coordinator_token}"})
        for plan in plans:
            time.sleep(0.3)
            status, body = client.request("POST", f"/api/patrols/{plan.pk}/approve/", "{}")
            statuses.append(("approve", status))
            assert status == 200, body

    def duty_officer():
        # Reviews on the pages what comes in, as the flash alerts lock the same reports.
        client = Http(live_server.url, {"Cookie": cookie, "Referer": live_server.url})
        reviewed = set()
        while not stop.is_set():
            waiting = IncidentReport.objects.filter(status="submitted").exclude(
                pk__in=reviewed).values_list("pk", "uuid")[:5]  # fmt: skip
            for pk, report_uuid in waiting:
                form = urlencode({"decision": "reviewed", "csrfmiddlewaretoken": csrf})
                status, _ = client.request("POST", f"/incidents/{report_uuid}/review/", form,
                                           "application/x-www-form-urlencoded")  # fmt: skip
                statuses.append(("page", status))
                reviewed.add(pk)
            time.sleep(0.05)

    verdicts = []

    def auditor():
        # audit_verify run again and again on the busiest minute: never a false alarm. The
        # worker's scheduled check runs too, and keeps its verdict on the head row.
        while not stop.is_set():
            verdicts.append(audit_chain_verify())
            audit_chain_verify_task.delay()
            time.sleep(0.2)

    writers = [in_thread(tablet, errors, n) for n in range(TABLETS)]
    writers.append(in_thread(coordinator, errors))
    watchers = [in_thread(duty_officer, errors), in_thread(auditor, errors)]
    try:
        for thread in watchers + writers:
            thread.start()
        for thread in writers:
            thread.join()
        stop.set()
        for thread in watchers:
            thread.join()

        assert errors == []
        server_errors = [s for s in statuses if s[1] >= 500]
        assert server_errors == []
        assert {s for kind, s in statuses if kind == "tablet"} <= {201}
        assert {s for kind, s in statuses if kind == "tablet resend"} <= {200}
        assert sum(1 for kind, s in statuses if kind == "page" and s == 302) > 0
        stored = IncidentReport.objects.filter(description__startswith="Flare-up test report")
        assert stored.count() == TABLETS * REPORTS_EACH
        serious = stored.filter(severity=4)
        wait_for(lambda: not serious.filter(flash_alerted_at__isnull=True).exists(),
                 timeout=120, message="the worker to send every flash alert")  # fmt: skip
        wait_for(lambda: PatrolPlan.objects.filter(pk__in=[p.pk for p in plans],
                                                   status=PatrolPlan.Status.NOTIFIED).count()
                 == PLANS, timeout=120, message="both parties told of every itinerary")  # fmt: skip
        # Every entry written by all of them is sealed by the sealer process, in one chain.
        wait_for(lambda: not AuditEntry.objects.waiting().exists(), timeout=60,
                 message="the sealer to seal every entry")  # fmt: skip
        report = audit_chain_verify()
        assert report.ok, str(report)
        assert report.checked == AuditEntry.objects.count()
        assert len(verdicts) >= 3
        assert [str(v) for v in verdicts if not v.ok] == []
        # The worker's checks ran during the load too; none of them recorded a break.
        wait_for(lambda: AuditChainHead.objects.filter(verified_ok__isnull=False).exists(),
                 message="the worker's audit check")  # fmt: skip
        assert "BROKEN" not in celery_worker.log_path.read_text()[worker_log_start:]
        assert AuditChainHead.objects.get(pk=1).verified_ok is True
    finally:
        stop.set()
        stop_process(sealer)
    logs = celery_worker.log_path.read_text()[worker_log_start:] + sealer.log_path.read_text()
    assert "deadlock detected" not in logs
    assert "Traceback" not in sealer.log_path.read_text()

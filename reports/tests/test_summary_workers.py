"""The summary under real conditions: the scheduled task on a real worker builds it and
e-mails it once; two schedulers at once, or a worker killed mid-build, still leave exactly
one summary per period."""

import os
import signal
import subprocess
import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.contrib.gis.geos import Point
from django.db import connection, connections
from django.utils import timezone

from conftest import start_worker, wait_for, worker_mail
from core.models import Province
from reports.models import DailySummary, IncidentReport, SummaryRecipient, SummaryRevision
from reports.summaries import services as summaries
from reports.tests.test_daily_summary import END

# The workers build the last closed period as of now (their clocks are not travelled).
LAST_END = summaries.last_cutoff(timezone.now())

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.long]


def reports_in_period(author, count, start):
    # Straight into the table: the build's length is what matters here, not the filing.
    syunik = Province.objects.get(name="Syunik")
    IncidentReport.objects.bulk_create([
        IncidentReport(
            author=author, status="submitted", observed_at=start + timedelta(minutes=3 * i),
            location=Point(46.34 + i * 1e-4, 39.51, srid=4326), category="shelling",
            severity=1 + i % 5, description="Explosions heard to the east.", sector=syunik,
            location_phrase="about 3 km E of Goris, Syunik",
            # Given by the filing service, bypassed here: unique per row.
            reference=f"GOR-{start.year}-{start:%j%H%M}{i:04d}",
        )
        for i in range(count)
    ])  # fmt: skip


def stop(worker):
    """Warm shutdown (asked of the main process only: it stops its pool itself), then the
    hard way for the whole group."""
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)


def test_two_schedulers_at_once_make_exactly_one_summary(users):
    reports_in_period(users["monitor"], 20, END - timedelta(days=1))
    results, errors = [], []

    def scheduler():
        try:
            results.append(summaries.summary_produce(period_end=END))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    with time_machine.travel(END + timedelta(minutes=5), tick=True):
        threads = [threading.Thread(target=scheduler) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert errors == []
    assert len([r for r in results if r is not None]) == 1
    assert DailySummary.objects.count() == 1
    assert SummaryRevision.objects.count() == 1
    assert SummaryRevision.objects.get().artefacts.count() == 8


def test_the_scheduled_task_on_a_real_worker_builds_and_mails_once(users, celery_worker):
    from reports.tasks import summaries_catch_up

    SummaryRecipient.objects.create(name="HQ desk", email="hq-desk@mission.test",
                                    level="internal")  # fmt: skip
    reports_in_period(users["monitor"], 5, LAST_END - timedelta(hours=20))

    def finished():
        return sum("summaries_catch_up" in line and "succeeded" in line
                   for line in celery_worker.log_path.read_text().splitlines())  # fmt: skip

    before = finished()
    for _ in range(2):  # a second beat tick finds nothing to do
        summaries_catch_up.delay()
    # Both runs must be over before the test ends: a run left behind would build in the
    # next test's database.
    wait_for(lambda: finished() >= before + 2, timeout=120, message="both scheduled runs")
    revision = SummaryRevision.objects.first()
    messages = wait_for(
        lambda: [m for m in worker_mail(celery_worker) if m["To"] == "hq-desk@mission.test"],
        timeout=60, message="the summary e-mail",
    )  # fmt: skip
    time.sleep(2)  # room for a wrongly repeated e-mail to show up
    assert SummaryRevision.objects.count() == 1 and DailySummary.objects.count() == 1
    mails = [m for m in worker_mail(celery_worker) if m["To"] == "hq-desk@mission.test"]
    assert len(mails) == 1 == len(messages)
    assert mails[0]["Subject"] == revision.summary.title
    attachment = next(p for p in mails[0].walk() if p.get_content_type() == "application/pdf")
    assert attachment.get_payload(decode=True) == bytes(
        revision.artefacts.get(level="internal", format="pdf").data)  # fmt: skip


def test_a_worker_killed_mid_build_leaves_nothing_and_the_next_run_makes_exactly_one(
    users, tmp_path
):
    from reports.tasks import summaries_catch_up

    # Several seconds of PDF rendering.
    reports_in_period(users["monitor"], 400, LAST_END - timedelta(hours=23))
    victim = start_worker(tmp_path / "victim.log", tmp_path / "mail", hostname="victim@%h",
                          queues=["summaries-victim"], new_session=True)  # fmt: skip
    try:
        summaries_catch_up.apply_async(queue="summaries-victim")
        wait_for(lambda: any("summaries_catch_up[" in line and "received" in line
                             for line in victim.log_path.read_text().splitlines()),
                 timeout=60, message="the victim worker to start building")  # fmt: skip
        time.sleep(2)
        assert "succeeded" not in victim.log_path.read_text(), "built before it could be killed"
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(timeout=30)
    finally:
        if victim.poll() is None:  # a failure above must not leave it running
            os.killpg(victim.pid, signal.SIGKILL)
    # The half-built summary was one transaction: nothing of it is left.
    connection.close()
    assert DailySummary.objects.count() == 0 and SummaryRevision.objects.count() == 0

    # The next scheduled run, on a fresh worker, builds it once.
    second = start_worker(tmp_path / "second.log", tmp_path / "mail2", hostname="second@%h",
                          queues=["summaries-victim"], new_session=True)  # fmt: skip
    try:
        summaries_catch_up.apply_async(queue="summaries-victim")
        wait_for(lambda: SummaryRevision.objects.exists(), timeout=180,
                 message="the second worker to build the summary")  # fmt: skip
        wait_for(lambda: "succeeded" in second.log_path.read_text(), timeout=60,
                 message="the build task to finish")  # fmt: skip
        assert DailySummary.objects.count() == 1
        assert SummaryRevision.objects.get().artefacts.count() == 8
    finally:
        stop(second)

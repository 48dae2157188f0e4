"""A worker killed outright (SIGKILL of the whole worker, not one pool process) while it sends
loses no e-mail, on both stacks: each itinerary notification and each summary e-mail goes
out exactly once, or twice with the same Message-ID when the kill fell after the mail server
had accepted it, within two minutes.

How the work comes back: on the embedded broker the killed worker's unacknowledged message
goes back to the queue as soon as a worker starts (missionapp/broker.py) and the redelivered
task takes over its own claim; on Redis the message would come back only after the
transport's visibility timeout, so the beat backstops (`*_resend_stale`, every 30 s) send it
once the claim is older than the lease (90 s in production, LEASE here; the backstop task is
sent here as beat would send it). The mail server is a real one on this machine that holds
the conversation, so the kill lands mid-send every time."""

import os
import signal
import time
from datetime import timedelta

import pytest
from celery import current_app
from django.conf import settings
from django.utils import timezone

from conftest import start_worker, wait_for
from patrols.models import ItineraryNotification, PatrolPlan
from patrols.services import patrol_plan_approve, patrol_plan_submit
from patrols.tests.conftest import make_plan as make_plan  # noqa: F401  (fixtures)
from patrols.tests.conftest import recipients as recipients  # noqa: F401
from patrols.tests.conftest import team as team  # noqa: F401
from tests.smtp_server import SMTPServer

pytestmark = [pytest.mark.worker, pytest.mark.long, pytest.mark.django_db(transaction=True)]

LEASE = 4
QUEUE = "kill-test"
ON_REDIS = settings.CELERY_BROKER_URL.startswith("redis")


@pytest.fixture
def own_queue(settings):
    """This test's tasks go to a queue only its own workers read (not the session's worker,
    which sends mail to files), with the short lease in this process and in the workers."""
    default = current_app.conf.task_default_queue
    current_app.conf.task_default_queue = QUEUE
    settings.SEND_CLAIM_LEASE_SECONDS = LEASE
    yield {"CELERY_TASK_DEFAULT_QUEUE": QUEUE, "SEND_CLAIM_LEASE_SECONDS": str(LEASE)}
    current_app.conf.task_default_queue = default


@pytest.fixture
def workers(tmp_path, own_queue):
    started = []

    def start(name, smtp):
        worker = start_worker(
            tmp_path / f"{name}.log", tmp_path / f"{name}-mail", hostname=f"{name}@%h",
            queues=[QUEUE], new_session=True, env={**own_queue, "EMAIL_URL": smtp.url},
            purge=not started,
        )  # fmt: skip
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except Exception:  # noqa: BLE001 - then the hard way
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=30)


def kill(worker):
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)


def after_the_lease_as_beat_would(task):
    """Redis: the backstop's next tick after the dead worker's claim expired."""
    if ON_REDIS:
        time.sleep(LEASE + 1)
        task.apply_async(queue=QUEUE)


def test_a_worker_killed_mid_render_sends_each_party_its_itinerary_once(
    make_plan, team, recipients, workers
):
    from patrols.tasks import itinerary_notifications_resend_stale

    smtp = SMTPServer(hold="data")  # nothing is accepted until released
    try:
        victim = workers("victim", smtp)
        plan = make_plan()
        patrol_plan_submit(plan=plan, by=team["leader"])
        patrol_plan_approve(plan=plan, by=team["coordinator"])
        started = time.monotonic()
        # Killed as soon as a notification is claimed: rendering its PDF, or at the latest
        # waiting for the mail server to accept it.
        wait_for(lambda: ItineraryNotification.objects.filter(version__plan=plan,
                                                              status="sending").exists(),
                 timeout=60, interval=0.02, message="a notification being sent")  # fmt: skip
        kill(victim)
        assert smtp.message_ids() == []
        smtp.release()

        workers("restarted", smtp)
        after_the_lease_as_beat_would(itinerary_notifications_resend_stale)
        wait_for(lambda: PatrolPlan.objects.get(pk=plan.pk).status == PatrolPlan.Status.NOTIFIED,
                 timeout=120, message="both parties to be sent the itinerary")  # fmt: skip
        assert time.monotonic() - started < 120
        time.sleep(1)  # room for a wrongly repeated e-mail to arrive
        ids = [i for i in smtp.message_ids() if f"itinerary-{plan.pk}-" in i]
        assert sorted(ids) == sorted(
            f"<itinerary-{plan.pk}-v1-{party}-itinerary@missionapp>"
            for party in ("armenia", "azerbaijan")
        )
    finally:
        smtp.close()


def test_a_worker_killed_after_the_mail_server_took_a_summary_sends_it_again_with_its_id(
    users, workers
):
    from reports.models import SummaryDelivery, SummaryRecipient
    from reports.summaries import services as summaries
    from reports.tasks import summary_deliveries_resend_stale

    for name in ("hq-desk", "brussels-desk"):
        SummaryRecipient.objects.create(name=name, email=f"{name}@mission.test",
                                        level="internal")  # fmt: skip
    smtp = SMTPServer(hold="quit")  # accepted, then the sender is held before it can record it
    try:
        victim = workers("victim", smtp)
        started = time.monotonic()
        revision = summaries.summary_produce(period_end=summaries.last_cutoff(timezone.now()))
        assert smtp.held.wait(timeout=120), "no summary e-mail reached the mail server"
        kill(victim)
        delivery_rows = SummaryDelivery.objects.filter(revision=revision)
        assert delivery_rows.filter(status="sending").count() == 1  # taken, not marked sent
        assert len(smtp.message_ids()) == 1
        smtp.release()

        workers("restarted", smtp)
        after_the_lease_as_beat_would(summary_deliveries_resend_stale)
        wait_for(lambda: delivery_rows.filter(status="sent").count() == 2, timeout=120,
                 message="both summary e-mails to be marked sent")  # fmt: skip
        assert time.monotonic() - started < 120
        time.sleep(1)
        ids = smtp.message_ids()
        expected = {f"<summary-{revision.pk}-{d.recipient_id}@missionapp>" for d in delivery_rows}
        assert set(ids) == expected
        # The one the mail server had taken when the worker died went twice, the same
        # message both times; the other went once.
        assert sorted(ids.count(i) for i in expected) == [1, 2]
        assert all(d.sent_at is not None and d.attempts >= 1 for d in delivery_rows)
        assert timedelta(0) <= timezone.now() - min(d.sent_at for d in delivery_rows)
    finally:
        smtp.close()


def test_the_settings_send_a_lost_email_within_two_minutes():
    """What the tests above shorten: in production a dead worker's claim expires after the
    lease, and the backstops look every interval; a live send gives up (EMAIL_TIMEOUT) long
    before its claim could be taken over."""
    schedule = settings.CELERY_BEAT_SCHEDULE
    for job, task in [
        (
            "itinerary-notifications-resend-stale",
            "patrols.tasks.itinerary_notifications_resend_stale",
        ),
        ("summary-deliveries-resend-stale", "reports.tasks.summary_deliveries_resend_stale"),
    ]:
        assert schedule[job]["task"] == task
        assert settings.SEND_CLAIM_LEASE_SECONDS + schedule[job]["schedule"] <= 120
    assert settings.EMAIL_TIMEOUT * 2 < settings.SEND_CLAIM_LEASE_SECONDS

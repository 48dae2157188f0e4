"""A real Celery worker sends the notifications; killing it mid-send loses nothing and
sends nothing twice."""

import os
import signal
from pathlib import Path

import pytest

from conftest import wait_for, worker_mail
from patrols.models import ItineraryNotification, PatrolPlan
from patrols.services import patrol_plan_approve, patrol_plan_submit

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def children_of(pid):
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def messages_by_party(worker, plan):
    mine = [m for m in worker_mail(worker) if f"itinerary-{plan.pk}-" in (m["Message-ID"] or "")]
    by_party = {}
    for message in mine:
        party = message["Message-ID"].split("-v1-")[1].split("-itinerary")[0]
        by_party.setdefault(party, []).append(message)
    return by_party


def test_the_worker_sends_one_message_per_party_and_the_plan_becomes_notified(
    celery_worker, make_plan, team, recipients
):
    plan = make_plan()
    patrol_plan_submit(plan=plan, by=team["leader"])
    patrol_plan_approve(plan=plan, by=team["coordinator"])
    wait_for(lambda: PatrolPlan.objects.get(pk=plan.pk).status == PatrolPlan.Status.NOTIFIED,
             timeout=60, message="the worker to send both notifications")  # fmt: skip
    by_party = messages_by_party(celery_worker, plan)
    assert {k: len(v) for k, v in by_party.items()} == {"armenia": 1, "azerbaijan": 1}
    assert by_party["armenia"][0]["Subject"] == by_party["azerbaijan"][0]["Subject"]


def test_a_worker_killed_mid_send_still_ends_with_exactly_one_message_per_party(
    celery_worker, make_plan, team, recipients
):
    plan = make_plan()
    patrol_plan_submit(plan=plan, by=team["leader"])
    patrol_plan_approve(plan=plan, by=team["coordinator"])
    # Kill the pool processes as soon as one of them has claimed a notification (it is
    # rendering the PDF or talking to the mail server).
    wait_for(
        lambda: ItineraryNotification.objects.filter(version__plan=plan, status="sending").exists(),
        timeout=60, interval=0.02, message="a notification being sent",
    )  # fmt: skip
    killed = children_of(celery_worker.pid)
    assert killed, "the worker has no pool process to kill"
    for pid in killed:
        os.kill(pid, signal.SIGKILL)

    wait_for(lambda: PatrolPlan.objects.get(pk=plan.pk).status == PatrolPlan.Status.NOTIFIED,
             timeout=120, message="the redelivered tasks to finish sending")  # fmt: skip
    by_party = messages_by_party(celery_worker, plan)
    assert {k: len(v) for k, v in by_party.items()} == {"armenia": 1, "azerbaijan": 1}
    assert "WorkerLostError" in celery_worker.log_path.read_text()

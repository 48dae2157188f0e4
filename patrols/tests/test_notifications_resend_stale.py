"""The beat backstop finds exactly the notifications whose sending was lost: a claim older
than the lease (a worker died mid-send), or a queued one no attempt is due for any more; not
one being sent now, nor one waiting out its retry's backoff."""

from datetime import timedelta

import pytest
from django.utils import timezone

from patrols.models import ItineraryNotification
from patrols.selectors import notifications_stale
from patrols.services import notifications, patrol_plan_approve, patrol_plan_submit

pytestmark = pytest.mark.django_db


def stale_now():
    lease = notifications.claim_lease()
    longest = timedelta(seconds=notifications.retry_delay(notifications.MAX_ATTEMPTS)) + lease
    return set(notifications_stale(lease=lease, longest_wait=longest))


def test_only_lost_sends_are_sent_again(make_plan, team, recipients, settings):
    plan = make_plan()
    patrol_plan_submit(plan=plan, by=team["leader"])
    patrol_plan_approve(plan=plan, by=team["coordinator"])
    rows = list(ItineraryNotification.objects.filter(version__plan=plan).order_by("pk"))
    assert len(rows) == 2
    one, two = rows
    now = timezone.now()
    lease = settings.SEND_CLAIM_LEASE_SECONDS

    def set_row(row, **fields):
        ItineraryNotification.objects.filter(pk=row.pk).update(**fields)

    set_row(one, queued_at=now - timedelta(seconds=10))
    set_row(two, queued_at=now - timedelta(seconds=10))
    assert stale_now() == set()  # just queued: its task is on its way
    set_row(one, queued_at=now - timedelta(seconds=lease + 5))
    assert stale_now() == {one.pk}  # queued long ago, never tried: the message was lost

    set_row(one, status="sending", attempts=1, claimed_at=now - timedelta(seconds=10))
    assert stale_now() == set()  # being sent now
    set_row(one, claimed_at=now - timedelta(seconds=lease + 5))
    assert stale_now() == {one.pk}  # its worker died

    # Released after a failure, waiting out its backoff: not sent early.
    set_row(one, status="queued", attempts=3, claimed_at=now - timedelta(minutes=5))
    assert stale_now() == set()
    set_row(one, claimed_at=now - timedelta(hours=1))
    assert stale_now() == {one.pk}  # its retry never came

    set_row(one, status="sent")
    set_row(two, status="failed", queued_at=now - timedelta(hours=1))
    assert stale_now() == set()

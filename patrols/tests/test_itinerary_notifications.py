"""Both parties are told, the same thing, or neither is: parity under failures, amendments
and cancellations; acknowledgement by link and by a liaison officer; escalation."""

import re
from contextlib import suppress
from datetime import timedelta
from smtplib import SMTPException

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from core.models import Province
from liaison.models import Party
from patrols.models import ItineraryNotification, PatrolPlan
from patrols.services import notifications as svc
from patrols.services import (
    patrol_plan_amend,
    patrol_plan_approve,
    patrol_plan_cancel,
    patrol_plan_submit,
)
from patrols.tests import backends
from patrols.tests.conftest import email_recipient

pytestmark = pytest.mark.django_db
N = ItineraryNotification.Status


@pytest.fixture(autouse=True)
def mail_server(settings):
    settings.EMAIL_BACKEND = "patrols.tests.backends.FlakyServerBackend"
    backends.FAILING.clear()
    yield backends.FAILING
    backends.FAILING.clear()


def approved(make_plan, team, **plan_fields):
    return make_plan(approved=True, approver=team["coordinator"],
                     accept_warnings=["near_border"], **plan_fields)  # fmt: skip


def send_pending(plan, claim="test"):
    results = []
    for n in ItineraryNotification.objects.filter(version__plan=plan, status=N.QUEUED):
        try:
            results.append(svc.notification_send(notification_id=n.pk, claim=claim))
        except Exception as exc:  # the task would retry these
            results.append(type(exc).__name__)
    plan.refresh_from_db()
    return results


def messages_to(address):
    return [m for m in mail.outbox if address in m.to]


def test_approval_queues_one_identical_itinerary_per_party(make_plan, team, recipients):
    plan = approved(make_plan, team)
    rows = list(ItineraryNotification.objects.filter(version__plan=plan).select_related("party"))
    assert sorted(r.party.code for r in rows) == ["armenia", "azerbaijan"]
    assert len({r.version_id for r in rows}) == 1
    send_pending(plan)
    am, az = messages_to("desk@armenia.example"), messages_to("desk@azerbaijan.example")
    assert len(am) == len(az) == 1
    assert am[0].subject == az[0].subject
    gpx = [a for a in am[0].attachments if a[0].endswith(".gpx")]
    assert gpx and gpx == [a for a in az[0].attachments if a[0].endswith(".gpx")]
    assert plan.status == PatrolPlan.Status.NOTIFIED


def test_a_party_configured_for_a_sector_is_told_only_of_patrols_there(make_plan, team, recipients):
    guards = Party.objects.get(code="russian-border-guards")
    guards.sectors.set([Province.objects.get(name="Syunik")])
    email_recipient(guards, "post@rbg.example", name="Meghri post")
    plan = approved(make_plan, team)  # Vayots Dzor
    assert not plan.versions.get().notifications.filter(party=guards).exists()
    guards.sectors.add(Province.objects.get(name="Vayots Dzor"))
    other = approved(make_plan, team, days_ahead=14)
    assert other.versions.get().notifications.filter(party=guards).exists()


def test_no_party_is_told_when_one_has_nowhere_to_be_told(make_plan, team, recipients):
    recipients["azerbaijan"].delete()
    plan = make_plan()
    patrol_plan_submit(plan=plan, by=team["leader"])
    with pytest.raises(ValidationError) as info:
        patrol_plan_approve(plan=plan, by=team["coordinator"])
    assert "Republic of Azerbaijan has no notification recipient" in str(info.value)
    assert not ItineraryNotification.objects.exists()
    plan.refresh_from_db()
    assert (plan.status, plan.version) == (PatrolPlan.Status.SUBMITTED, 0)


def test_a_failure_sending_to_one_party_keeps_the_patrol_home_until_it_is_sent(
    make_plan, team, recipients, mail_server
):
    mail_server.add("desk@azerbaijan.example")
    plan = approved(make_plan, team)
    assert sorted(send_pending(plan)) == ["SMTPRecipientsRefused", "sent"]
    az = ItineraryNotification.objects.get(version__plan=plan, party__code="azerbaijan")
    assert az.status == N.QUEUED and "451" in az.last_error
    assert plan.status == PatrolPlan.Status.APPROVED  # not "notified": it may not leave

    mail_server.clear()  # the server is back; the task's retry sends it
    assert send_pending(plan) == ["sent"]
    assert plan.status == PatrolPlan.Status.NOTIFIED
    assert len(messages_to("desk@azerbaijan.example")) == 1
    assert len(messages_to("desk@armenia.example")) == 1


def test_a_party_that_cannot_be_reached_is_flagged_failed_and_the_coordinator_told(
    make_plan, team, recipients, mail_server, django_capture_on_commit_callbacks
):
    mail_server.add("desk@azerbaijan.example")
    plan = approved(make_plan, team)
    az = ItineraryNotification.objects.get(version__plan=plan, party__code="azerbaijan")
    for _ in range(svc.MAX_ATTEMPTS):
        with django_capture_on_commit_callbacks(execute=True), suppress(SMTPException):
            svc.notification_send(notification_id=az.pk, claim="t")  # the task would retry
    az.refresh_from_db()
    assert az.status == N.FAILED and az.attempts == svc.MAX_ATTEMPTS
    alert = [m for m in mail.outbox if "FAILED" in m.subject]
    assert len(alert) == 1 and alert[0].to == [team["coordinator"].email]


def test_sending_twice_sends_once(make_plan, team, recipients):
    plan = approved(make_plan, team)
    row = ItineraryNotification.objects.filter(version__plan=plan).first()
    assert svc.notification_send(notification_id=row.pk, claim="a") == "sent"
    assert svc.notification_send(notification_id=row.pk, claim="a") == "nothing to do"
    assert svc.notification_send(notification_id=row.pk, claim="b") == "nothing to do"
    assert len(mail.outbox) == 1


def test_a_claim_left_by_a_killed_worker_is_taken_over(make_plan, team, recipients):
    plan = approved(make_plan, team)
    row = ItineraryNotification.objects.filter(version__plan=plan).first()
    ItineraryNotification.objects.filter(pk=row.pk).update(
        status=N.SENDING, claimed_by="dead-task", claimed_at=timezone.now()
    )
    # Another task must not send while the claim is fresh...
    assert svc.notification_send(notification_id=row.pk, claim="other") == "nothing to do"
    # ...the redelivered task (same id) takes it over at once...
    assert svc.notification_send(notification_id=row.pk, claim="dead-task") == "sent"
    assert len(mail.outbox) == 1
    # ...and a stale claim is taken over by anyone.
    other = ItineraryNotification.objects.filter(version__plan=plan).exclude(pk=row.pk).get()
    ItineraryNotification.objects.filter(pk=other.pk).update(
        status=N.SENDING, claimed_by="gone", claimed_at=timezone.now() - timedelta(minutes=11)
    )
    assert svc.notification_send(notification_id=other.pk, claim="sweeper") == "sent"


def test_an_amendment_renotifies_every_party_that_had_the_earlier_version(
    make_plan, team, recipients
):
    guards = Party.objects.get(code="russian-border-guards")
    guards.sectors.set([Province.objects.get(name="Vayots Dzor")])
    email_recipient(guards, "post@rbg.example", name="Post")
    plan = approved(make_plan, team)
    send_pending(plan)
    assert plan.status == PatrolPlan.Status.NOTIFIED
    guards.sectors.clear()  # no longer configured: it had v1, so it still gets v2

    patrol_plan_amend(plan=plan, by=team["leader"],
                      planned_departure=plan.planned_departure + timedelta(hours=2),
                      planned_return=plan.planned_return + timedelta(hours=2))  # fmt: skip
    plan.refresh_from_db()
    assert (plan.status, plan.version) == (PatrolPlan.Status.SUBMITTED, 1)
    patrol_plan_approve(plan=plan, by=team["coordinator"])
    plan.refresh_from_db()
    assert plan.version == 2
    v2 = plan.versions.get(number=2).notifications.select_related("party")
    assert sorted(n.party.code for n in v2) == ["armenia", "azerbaijan", "russian-border-guards"]
    send_pending(plan)
    amended = [m for m in mail.outbox if "v2" in m.subject]
    assert len(amended) == 3
    assert all("AMENDED, supersedes v1" in m.subject for m in amended)
    assert plan.status == PatrolPlan.Status.NOTIFIED


def test_cancellation_tells_every_party_that_was_told(make_plan, team, recipients):
    plan = approved(make_plan, team)
    send_pending(plan)
    patrol_plan_cancel(plan=plan, by=team["leader"], reason="Weather: the pass is closed.")
    cancels = ItineraryNotification.objects.filter(version__plan=plan, purpose="cancellation")
    assert sorted(cancels.values_list("party__code", flat=True)) == ["armenia", "azerbaijan"]
    send_pending(plan)
    subjects = [m.subject for m in mail.outbox if "CANCELLED" in m.subject]
    assert len(subjects) == 2 and subjects[0] == subjects[1]


def test_a_draft_cancelled_before_approval_tells_nobody(make_plan, team, recipients):
    plan = make_plan()
    patrol_plan_cancel(plan=plan, by=team["leader"], reason="Not needed.")
    assert not ItineraryNotification.objects.exists()


# --- Acknowledgement ----------------------------------------------------------------------


@pytest.fixture
def sent(make_plan, team, recipients):
    plan = approved(make_plan, team)
    send_pending(plan)
    return {n.party.code: n for n in ItineraryNotification.objects.filter(version__plan=plan)}


def test_the_link_in_the_message_acknowledges_receipt_without_a_login(client, sent):
    az = sent["azerbaijan"]
    message = messages_to("desk@azerbaijan.example")[0]
    # The link as the party received it (its signature carries the time it was made).
    found = re.search(r"http://127\.0\.0\.1:8000(/itineraries/ack/[^/\s]+/)", message.body)
    assert found, message.body
    path = found.group(1)
    assert svc.notification_from_ack_token(path.split("/")[-2]) == az
    page = client.get(path)
    assert page.status_code == 200 and b"Acknowledge receipt" in page.content
    assert b"Jermuk" in page.content
    done = client.post(path)
    assert done.status_code == 200 and b"Receipt acknowledged" in done.content
    az.refresh_from_db()
    assert az.status == N.ACKNOWLEDGED and az.ack_method == "link"


def test_a_used_link_cannot_be_used_again(client, sent):
    path = reverse("itinerary-ack", args=[svc.ack_token(sent["armenia"])])
    assert client.post(path).status_code == 200
    again = client.post(path)
    assert again.status_code == 409 and b"already acknowledged" in again.content


def test_an_expired_link_is_refused(client, sent, settings):
    path = reverse("itinerary-ack", args=[svc.ack_token(sent["armenia"])])
    with time_machine.travel(timezone.now() + timedelta(days=settings.PATROL_ACK_LINK_DAYS + 1)):
        response = client.post(path)
    assert response.status_code == 400 and b"expired" in response.content
    sent["armenia"].refresh_from_db()
    assert sent["armenia"].acknowledged_at is None


def test_a_forged_link_is_refused_and_logged(client, sent, caplog):
    token = svc.ack_token(sent["armenia"])
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    response = client.post(reverse("itinerary-ack", args=[forged]))
    assert response.status_code == 400 and b"not valid" in response.content
    assert any("refused acknowledgement link" in r.getMessage() for r in caplog.records)
    # A token signed for another purpose does not work either.
    from django.core import signing

    other = signing.dumps({"n": sent["armenia"].pk}, salt="something-else")
    assert client.post(reverse("itinerary-ack", args=[other])).status_code == 400


def test_a_liaison_officer_records_an_acknowledgement_received_by_phone(sent, users):
    officer = users["liaison_officer"]
    with pytest.raises(ValidationError, match="who acknowledged"):
        svc.notification_acknowledge_manually(notification=sent["azerbaijan"], by=officer,
                                              method="phone", note="")  # fmt: skip
    with pytest.raises(PermissionDenied, match="Only a liaison officer"):
        svc.notification_acknowledge_manually(
            notification=sent["azerbaijan"], by=users["monitor"], method="phone", note="x"
        )
    when = timezone.now() - timedelta(minutes=5)
    row = svc.notification_acknowledge_manually(
        notification=sent["azerbaijan"], by=officer, method="phone",
        note="Major Aliyev, border service duty officer, by hotline", at=when,
    )  # fmt: skip
    assert (row.status, row.ack_method, row.ack_recorded_by, row.acknowledged_at) == (
        N.ACKNOWLEDGED, "phone", officer, when,
    )  # fmt: skip


def test_a_partys_objection_is_recorded_with_its_text(sent, users):
    row = svc.notification_record_objection(
        notification=sent["azerbaijan"], by=users["liaison_officer"],
        text="The route passes a position under construction; request a 2 km detour.",
    )  # fmt: skip
    assert row.objection.startswith("The route passes") and row.objection_recorded_at


# --- Escalation --------------------------------------------------------------------------


def test_an_unacknowledged_itinerary_is_escalated_once_when_departure_is_near(
    sent, settings, team, django_capture_on_commit_callbacks
):
    plan = sent["armenia"].version.plan
    svc.notification_acknowledge_manually(notification=sent["armenia"], by=team["coordinator"],
                                          method="phone", note="Armenian MoD desk")  # fmt: skip
    hours = settings.PATROL_ACK_ESCALATION_HOURS
    mail.outbox.clear()
    with time_machine.travel(plan.planned_departure - timedelta(hours=hours + 1), tick=False):
        assert svc.notifications_escalate() == 0
    with time_machine.travel(plan.planned_departure - timedelta(hours=hours - 1), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert svc.notifications_escalate() == 1
        with django_capture_on_commit_callbacks(execute=True):
            assert svc.notifications_escalate() == 0  # idempotent
    assert [m.subject.split(" — ")[0] for m in mail.outbox] == [
        "Not acknowledged: Republic of Azerbaijan"
    ]
    assert mail.outbox[0].to == [team["coordinator"].email]
    sent["azerbaijan"].refresh_from_db()
    assert sent["azerbaijan"].escalated_at is not None
    with time_machine.travel(plan.planned_departure + timedelta(hours=1), tick=False):
        assert svc.notifications_escalate() == 0  # gone: nothing to escalate any more


def test_nothing_is_approved_when_the_two_sides_are_not_both_configured(
    make_plan, team, recipients
):
    Party.objects.filter(code="azerbaijan").update(active=False)
    plan = make_plan()
    patrol_plan_submit(plan=plan, by=team["leader"])
    with pytest.raises(ValidationError, match="Armenia and Azerbaijan must both"):
        patrol_plan_approve(plan=plan, by=team["coordinator"])
    assert not ItineraryNotification.objects.exists()


def test_a_hotline_call_recorded_by_a_liaison_officer_counts_as_delivery(
    make_plan, team, users, recipients, mail_server, django_capture_on_commit_callbacks
):
    mail_server.add("desk@azerbaijan.example")
    plan = approved(make_plan, team)
    send_pending(plan)
    az = ItineraryNotification.objects.get(version__plan=plan, party__code="azerbaijan")
    svc.notification_acknowledge_manually(
        notification=az, by=users["liaison_officer"], method="phone",
        note="Itinerary read out on the hotline to the border service duty officer",
    )  # fmt: skip
    plan.refresh_from_db()
    assert plan.status == PatrolPlan.Status.NOTIFIED
    # The queued e-mail is not sent afterwards: the party has it already.
    mail_server.clear()
    assert svc.notification_send(notification_id=az.pk, claim="retry") == "nothing to do"
    assert messages_to("desk@azerbaijan.example") == []

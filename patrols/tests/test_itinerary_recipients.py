"""Itinerary notifications go to the parties' liaison contacts: per party and sector, with
a fallback contact per party, so no approved plan goes out without every party; addresses
stay encrypted until the message is sent."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from liaison.models import Contact, ContactChannel, Party
from patrols.models import ItineraryNotification
from patrols.services import notifications as svc
from patrols.services import patrol_plan_approve, patrol_plan_submit
from patrols.tests.conftest import email_recipient, restore_parties, sector

pytestmark = pytest.mark.django_db


@pytest.fixture
def parties(geography):
    restore_parties()
    return {p.code: p for p in Party.objects.filter(always_notified=True)}


@pytest.fixture
def fallbacks(parties):
    return {code: email_recipient(p, f"fallback@{code}.example", fallback=True, receives=False)
            for code, p in parties.items()}  # fmt: skip


def approve(make_plan, team):
    plan = make_plan()  # south of Jermuk: Vayots Dzor
    patrol_plan_submit(plan=plan, by=team["leader"])
    patrol_plan_approve(plan=plan, by=team["coordinator"], accept_warnings=["near_border"])
    return plan


def sent_to(plan, code):
    row = ItineraryNotification.objects.get(version__plan=plan, party__code=code)
    svc.notification_send(notification_id=row.pk, claim="test")
    return sorted(address for m in mail.outbox for address in m.to if code in address)


def test_the_sectors_contact_receives_it_and_the_fallback_does_not(
    make_plan, team, parties, fallbacks
):
    email_recipient(parties["armenia"], "vayots@armenia.example", sectors=[sector("Vayots Dzor")])
    email_recipient(parties["armenia"], "syunik@armenia.example", sectors=[sector("Syunik")])
    plan = approve(make_plan, team)
    assert sent_to(plan, "armenia") == ["vayots@armenia.example"]


def test_a_sector_nobody_covers_goes_to_the_partys_fallback(make_plan, team, parties, fallbacks):
    email_recipient(parties["azerbaijan"], "tavush@azerbaijan.example", sectors=[sector("Tavush")])
    plan = approve(make_plan, team)
    assert sent_to(plan, "azerbaijan") == ["fallback@azerbaijan.example"]


def test_without_a_fallback_no_party_is_told(make_plan, team, parties, fallbacks):
    fallbacks["azerbaijan"].delete()
    email_recipient(parties["azerbaijan"], "tavush@azerbaijan.example", sectors=[sector("Tavush")])
    plan = make_plan()
    patrol_plan_submit(plan=plan, by=team["leader"])
    with pytest.raises(ValidationError) as info:
        patrol_plan_approve(plan=plan, by=team["coordinator"], accept_warnings=["near_border"])
    assert "Republic of Azerbaijan has no notification recipient for Vayots Dzor" in str(info.value)
    assert not ItineraryNotification.objects.exists()


def test_contacts_no_longer_active_or_anonymised_are_not_used(make_plan, team, parties, fallbacks):
    yesterday = timezone.localdate() - timedelta(days=1)
    old = email_recipient(parties["armenia"], "left@armenia.example")
    Contact.objects.filter(pk=old.pk).update(active_to=yesterday)
    gone = email_recipient(parties["armenia"], "gone@armenia.example")
    Contact.objects.filter(pk=gone.pk).update(anonymised_at=timezone.now())
    plan = approve(make_plan, team)
    assert sent_to(plan, "armenia") == ["fallback@armenia.example"]


def test_the_notification_holds_channel_ids_and_the_address_is_decrypted_when_sent(
    make_plan, team, parties, fallbacks
):
    plan = approve(make_plan, team)
    row = ItineraryNotification.objects.get(version__plan=plan, party__code="armenia")
    channel = ContactChannel.objects.get(contact=fallbacks["armenia"])
    assert row.recipients == [channel.pk]
    with connection.cursor() as cursor:
        cursor.execute("SELECT recipients FROM patrols_itinerarynotification WHERE id = %s",
                       [row.pk])  # fmt: skip
        assert "fallback@" not in str(cursor.fetchone()[0])
    assert sent_to(plan, "armenia") == ["fallback@armenia.example"]


def test_sending_restarts_the_contacts_retention_clock(make_plan, team, parties, fallbacks):
    plan = approve(make_plan, team)
    sent_to(plan, "armenia")
    fallbacks["armenia"].refresh_from_db()
    assert fallbacks["armenia"].last_contacted_at is not None


def test_a_notification_whose_contacts_were_erased_is_not_sent_to_nobody(
    make_plan, team, parties, fallbacks
):
    plan = approve(make_plan, team)
    row = ItineraryNotification.objects.get(version__plan=plan, party__code="armenia")
    fallbacks["armenia"].delete()
    with pytest.raises(svc.NoRecipientLeft):
        svc.notification_send(notification_id=row.pk, claim="test")
    row.refresh_from_db()
    assert row.status == ItineraryNotification.Status.QUEUED and "no recipient" in row.last_error

"""Retention: contacts inactive for LIAISON_RETENTION_DAYS are anonymised by the scheduled
job (frozen time), exactly once; an administrator exports everything held about one contact
and erases it."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from liaison import services, tasks
from liaison.models import Contact, ContactAccessLog, ContactChannel, LogEntry
from liaison.tests.conftest import SECRET_EMAIL, SECRET_PHONE

pytestmark = pytest.mark.django_db
START = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def made_at_start(request, users):
    with time_machine.travel(START, tick=False):
        return request.getfixturevalue("world")


def test_the_retention_job_anonymises_contacts_inactive_for_the_period(made_at_start):
    south, north = made_at_start["south"], made_at_start["north"]
    days = settings.LIAISON_RETENTION_DAYS
    with time_machine.travel(START + timedelta(days=days - 1), tick=False):
        assert tasks.contacts_anonymise_inactive() == 0
    # North was called in the meantime: its retention clock restarted.
    Contact.objects.filter(pk=north.pk).update(last_contacted_at=START + timedelta(days=100))
    with time_machine.travel(START + timedelta(days=days + 1), tick=False):
        assert tasks.contacts_anonymise_inactive() == 1
    south.refresh_from_db()
    assert south.anonymised_at == START + timedelta(days=days + 1)
    assert (south.name_latin, south.name_original, south.position, south.notes) == ("",) * 4
    assert not ContactChannel.objects.filter(contact=south).exists()
    assert south.party.code == "armenia" and south.sectors.exists()  # counts keep meaning
    north.refresh_from_db()
    assert north.anonymised_at is None and north.name_latin == "Elchin Mammadov"


def test_running_the_job_twice_changes_nothing_the_second_time(made_at_start):
    later = START + timedelta(days=settings.LIAISON_RETENTION_DAYS + 5)
    with time_machine.travel(later, tick=False):
        assert tasks.contacts_anonymise_inactive() == 2
    stamps = dict(Contact.objects.values_list("pk", "anonymised_at"))
    with time_machine.travel(later + timedelta(days=1), tick=False):
        assert tasks.contacts_anonymise_inactive() == 0
    assert dict(Contact.objects.values_list("pk", "anonymised_at")) == stamps


def test_the_period_is_configurable(made_at_start, settings):
    settings.LIAISON_RETENTION_DAYS = 30
    with time_machine.travel(START + timedelta(days=31), tick=False):
        assert services.contacts_anonymise_inactive() == 2


def test_an_anonymised_contact_disappears_from_lists_and_pages(made_at_start, client, users):
    with time_machine.travel(START + timedelta(days=settings.LIAISON_RETENTION_DAYS + 1)):
        services.contacts_anonymise_inactive()
    client.force_login(users["liaison_officer"])
    assert "Petrosyan" not in client.get(reverse("liaison-contacts")).content.decode()
    south = made_at_start["south"].pk
    assert client.get(reverse("liaison-contact", args=[south])).status_code == 404


def test_the_job_is_scheduled_daily():
    entry = settings.CELERY_BEAT_SCHEDULE["liaison-contacts-anonymise-inactive"]
    assert entry["task"] == "liaison.tasks.contacts_anonymise_inactive"
    assert entry["schedule"] == 24 * 3600


def test_an_administrator_exports_everything_held_about_a_contact(users, world):
    services.log_entry_create(
        by=users["liaison_officer"], occurred_at=START, kind=LogEntry.Kind.MEETING,
        topic=LogEntry.Topic.WATER, summary="Water sharing at the canal.",
        participants=[world["south"]],
    )  # fmt: skip
    data = services.contact_export(by=users["administrator"], contact=world["south"])
    text = json.dumps(data, ensure_ascii=False)
    for held in ("Aram Petrosyan", "Արամ Պետրոսյան", SECRET_PHONE, SECRET_EMAIL,
                 "Water sharing at the canal.", "noon"):  # fmt: skip
        assert held in text
    assert ContactAccessLog.objects.filter(contact_ref=world["south"].pk, via="export").exists()


def test_only_an_administrator_exports_or_erases(users, world):
    for role in ("liaison_officer", "coordinator", "monitor", "headquarters"):
        with pytest.raises(PermissionDenied):
            services.contact_export(by=users[role], contact=world["south"])
        with pytest.raises(PermissionDenied):
            services.contact_erase(by=users[role], contact=world["south"])


def test_erasure_removes_the_contact_and_its_channels_and_keeps_the_log_entry(users, world):
    entry = services.log_entry_create(
        by=users["liaison_officer"], occurred_at=START, kind=LogEntry.Kind.HOTLINE,
        topic=LogEntry.Topic.DEESCALATION, summary="Shots heard.", participants=[world["south"]],
    )  # fmt: skip
    services.contact_erase(by=users["administrator"], contact=world["south"])
    assert not Contact.objects.filter(pk=world["south"].pk).exists()
    assert not ContactChannel.objects.filter(contact_id=world["south"].pk).exists()
    assert LogEntry.objects.filter(pk=entry.pk).exists()
    assert not entry.participants.exists()


def test_the_admin_export_action_downloads_json(client, users, world):
    admin = users["administrator"]
    admin.is_staff = True
    admin.save()
    client.force_login(admin)
    response = client.post(
        reverse("admin:liaison_contact_changelist"),
        {"action": "export_subject_access", "_selected_action": [world["south"].pk]},
    )
    assert response.status_code == 200
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="contact-{world["south"].pk}.json"'
    )
    assert json.loads(response.content)["contact"]["name_latin"] == "Aram Petrosyan"

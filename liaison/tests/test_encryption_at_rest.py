"""Phone numbers and e-mail addresses are encrypted at rest: the database row holds no
plaintext, nothing sent to the database holds it, and it never reaches the audit trail,
str()/repr() or the logs."""

import logging

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from core import crypto
from core.audit.models import AuditEntry
from liaison.models import ContactChannel
from liaison.tests.conftest import SECRET_EMAIL, SECRET_PHONE
from liaison.tests.factories import ChannelFactory, ContactFactory

pytestmark = pytest.mark.django_db


def raw_value(channel_id):
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM liaison_contactchannel WHERE id = %s", [channel_id])
        return cursor.fetchone()[0]


def test_the_raw_database_row_holds_no_phone_number(world):
    phone = world["south"].channels.get(kind="phone")
    stored = raw_value(phone.pk)
    assert stored.startswith("gAAAAA")  # a Fernet token
    assert SECRET_PHONE not in stored and "123456" not in stored
    assert ContactChannel.objects.get(pk=phone.pk).value == SECRET_PHONE


def test_the_same_number_encrypts_differently_each_time(world):
    contact = world["south"]
    a = ChannelFactory(contact=contact, value=SECRET_PHONE)
    b = ChannelFactory(contact=contact, value=SECRET_PHONE)
    assert raw_value(a.pk) != raw_value(b.pk)


def test_nothing_sent_to_the_database_holds_the_plaintext(users, world):
    client = APIClient()
    client.force_authenticate(users["liaison_officer"])
    with CaptureQueriesContext(connection) as queries:
        ChannelFactory(contact=world["north"], value="+994 55 1112233")
        client.patch(
            reverse("api-liaison-contact", args=[world["north"].pk]),
            {"channels": [{"kind": "email", "value": "border.post@sbs.az.example"}]},
            format="json",
        )
    sent = str(queries.captured_queries)
    assert "1112233" not in sent and "border.post" not in sent


def test_the_audit_trail_redacts_channel_values_and_personal_fields(world):
    phone = world["south"].channels.get(kind="phone")
    phone.value = "+374 99 000111"
    phone.save()
    phone.delete()
    trail = str(list(AuditEntry.objects.values_list("object_repr", "changes")))
    for secret in (SECRET_PHONE, SECRET_EMAIL, "000111", "Petrosyan", "Արամ", "noon"):
        assert secret not in trail
    assert "[redacted]" in trail


def test_str_and_repr_never_show_a_value_or_a_name(world):
    phone = world["south"].channels.get(kind="phone")
    for text in (str(phone), repr(phone), str(world["south"]), repr(world["south"])):
        assert SECRET_PHONE not in text and "Petrosyan" not in text


def test_reading_a_contact_logs_no_number(users, world, caplog):
    caplog.set_level(logging.DEBUG)
    client = APIClient()
    client.force_authenticate(users["liaison_officer"])
    assert client.get(reverse("api-liaison-contact", args=[world["south"].pk])).status_code == 200
    assert SECRET_PHONE not in caplog.text and SECRET_EMAIL not in caplog.text


def test_an_altered_row_is_refused_not_misread(world):
    phone = world["south"].channels.get(kind="phone")
    stored = raw_value(phone.pk)
    forged = stored[:-6] + ("AAAAAA" if not stored.endswith("AAAAAA") else "BBBBBB")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE liaison_contactchannel SET value = %s WHERE id = %s", [forged, phone.pk]
        )
    with pytest.raises(crypto.DecryptionError):
        ContactChannel.objects.get(pk=phone.pk)


def test_keys_rotate_old_values_stay_readable(settings, db, geography):
    contact = ContactFactory()
    old = ChannelFactory(contact=contact, value=SECRET_PHONE)
    new_key = crypto.generate_key()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *settings.FIELD_ENCRYPTION_KEYS]
    new = ChannelFactory(contact=contact, value="+374 10 000000")
    assert ContactChannel.objects.get(pk=old.pk).value == SECRET_PHONE
    assert ContactChannel.objects.get(pk=new.pk).value == "+374 10 000000"
    # The new value is under the new first key; the old one stays under the old key.
    assert Fernet(new_key.encode()).decrypt(raw_value(new.pk).encode()) == b"+374 10 000000"
    with pytest.raises(InvalidToken):
        Fernet(new_key.encode()).decrypt(raw_value(old.pk).encode())


def test_error_reports_do_not_show_a_plaintext_held_in_a_frame(rf):
    import sys

    from django.views.debug import ExceptionReporter

    class Unencodable(str):
        def encode(self, *args, **kwargs):
            raise RuntimeError("cannot encode")

    try:
        crypto.encrypt(Unencodable(SECRET_PHONE))
    except RuntimeError:
        report = ExceptionReporter(rf.post("/admin/"), *sys.exc_info())
        text = report.get_traceback_text() + report.get_traceback_html()
    assert "cannot encode" in text
    assert SECRET_PHONE not in text

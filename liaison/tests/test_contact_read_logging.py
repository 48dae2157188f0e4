"""Every read of a contact's details is logged (who, when, which contact, how), refusals
are not reads, and administrators, only they, see the log."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from liaison.models import ContactAccessLog

pytestmark = pytest.mark.django_db


def test_an_api_read_of_a_contact_is_logged(users, world):
    client = APIClient()
    client.force_authenticate(users["coordinator"])
    client.get(reverse("api-liaison-contact", args=[world["south"].pk]))
    row = ContactAccessLog.objects.get()
    assert (row.user, row.contact, row.contact_ref, row.via) == (
        users["coordinator"], world["south"], world["south"].pk, "api",
    )  # fmt: skip
    assert row.at is not None


def test_a_page_read_is_logged(client, users, world):
    client.force_login(users["liaison_officer"])
    client.get(reverse("liaison-contact", args=[world["north"].pk]))
    assert list(ContactAccessLog.objects.values_list("user__username", "contact_ref", "via")) == [
        ("t-liaison_officer", world["north"].pk, "page")
    ]


def test_a_monitor_seeing_hotlines_is_logged_per_contact(client, users, world):
    client.force_login(users["monitor"])
    client.get(reverse("liaison-contacts"))
    assert list(ContactAccessLog.objects.values_list("contact_ref", flat=True)) == [
        world["south"].pk
    ]


def test_a_list_of_names_is_not_a_read_of_details(client, users, world):
    client.force_login(users["liaison_officer"])
    client.get(reverse("liaison-contacts"))
    assert not ContactAccessLog.objects.exists()


def test_refused_and_hidden_reads_are_not_logged_as_reads(client, users, world):
    client.force_login(users["monitor"])
    assert client.get(reverse("liaison-contact", args=[world["north"].pk])).status_code == 404
    client.force_login(users["headquarters"])
    assert client.get(reverse("liaison-contact", args=[world["south"].pk])).status_code == 403
    assert not ContactAccessLog.objects.exists()


def test_the_log_survives_the_contacts_erasure(users, world):
    from liaison.services import contact_erase, contact_read_log

    contact_read_log(user=users["liaison_officer"], contacts=[world["south"]], via="page")
    pk = world["south"].pk
    contact_erase(by=users["administrator"], contact=world["south"])
    row = ContactAccessLog.objects.get()
    assert (row.contact, row.contact_ref) == (None, pk)


@pytest.mark.parametrize("role, status", [("administrator", 200), ("liaison_officer", 403),
                                          ("coordinator", 403)])  # fmt: skip
def test_only_administrators_see_the_access_log_in_the_admin(role, status, client, users, world):
    user = users[role]
    user.is_staff = True
    user.save()
    client.force_login(user)
    client.get(reverse("liaison-contact", args=[world["south"].pk]))
    response = client.get(reverse("admin:liaison_contactaccesslog_changelist"))
    assert response.status_code == status
    if status == 200:
        assert str(world["south"].pk) in response.content.decode()


def test_contact_details_are_never_stored_by_a_cache(client, users, world):
    client.force_login(users["liaison_officer"])
    page = client.get(reverse("liaison-contact", args=[world["south"].pk]))
    api = client.get(reverse("api-liaison-contact", args=[world["south"].pk]))
    for response in (page, api):
        assert "no-store" in response["Cache-Control"]


def test_opening_a_contact_in_the_admin_is_a_logged_read(client, users, world):
    user = users["liaison_officer"]
    user.is_staff = True
    user.save()
    client.force_login(user)
    url = reverse("admin:liaison_contact_change", args=[world["south"].pk])
    assert client.get(url).status_code == 200
    assert list(ContactAccessLog.objects.values_list("user__username", "contact_ref")) == [
        ("t-liaison_officer", world["south"].pk)
    ]


@pytest.mark.parametrize("role", ["duty_officer", "headquarters"])
def test_a_refused_admin_read_of_a_contact_is_not_logged_as_a_read(client, users, world, role):
    user = users[role]
    user.is_staff = True
    user.save()
    client.force_login(user)
    url = reverse("admin:liaison_contact_change", args=[world["south"].pk])
    assert client.get(url).status_code in (302, 403)  # missing from their list, or refused
    assert not ContactAccessLog.objects.exists()

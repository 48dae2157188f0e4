"""A password change or reset ends every other session and revokes every device token of the
member, whichever path changed it (the password page, the admin's form, a command); the
session that changed it stays."""

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from core.audit.models import AuditEntry
from core.models import DeviceToken

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a new and much longer passphrase"


def tablet(username):
    """A device logged in through the API: its token client."""
    response = APIClient().post(
        reverse("api-device-login"),
        {"username": username, "password": PASSWORD, "device_name": f"Tablet of {username}"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    return client


@pytest.mark.django_db
def test_the_password_page_ends_the_other_sessions_and_every_device(users):
    monitor = users["monitor"]
    devices = [tablet("t-monitor"), tablet("t-monitor")]
    other_session = Client()
    other_session.login(username="t-monitor", password=PASSWORD)
    someone_else = tablet("t-team_leader")
    this_session = Client()
    this_session.force_login(monitor)

    response = this_session.post(
        reverse("password-change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD,
         "new_password2": NEW_PASSWORD},
    )  # fmt: skip
    assert response.status_code == 302
    assert response["Location"] == reverse("account")
    assert (
        "Your other sessions and every device"
        in this_session.get(reverse("account")).content.decode()
    )

    for device in devices:
        answer = device.get(reverse("api-me"))
        assert answer.status_code == 401
    assert not DeviceToken.objects.filter(user=monitor).exists()
    assert other_session.get("/").status_code == 302  # sent to log in again
    assert this_session.get("/").status_code == 200
    assert someone_else.get(reverse("api-me")).status_code == 200
    # Each revocation is in the audit trail.
    assert AuditEntry.objects.filter(model="core.devicetoken", action="delete").count() == 2


@pytest.mark.django_db
def test_a_wrong_current_password_changes_nothing_and_says_so(users):
    device = tablet("t-monitor")
    client = Client()
    client.force_login(users["monitor"])
    response = client.post(
        reverse("password-change"),
        {"old_password": "not it", "new_password1": NEW_PASSWORD,
         "new_password2": NEW_PASSWORD},
    )  # fmt: skip
    assert response.status_code == 200
    assert "Your old password was entered incorrectly" in response.content.decode()
    assert device.get(reverse("api-me")).status_code == 200


@pytest.mark.django_db
def test_a_reset_in_the_admin_revokes_the_devices_too(users):
    admin_user = users["administrator"]
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save(update_fields=["is_staff", "is_superuser"])
    device = tablet("t-monitor")
    operator = Client()
    operator.force_login(admin_user)
    response = operator.post(
        reverse("admin:auth_user_password_change", args=[users["monitor"].pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert device.get(reverse("api-me")).status_code == 401
    assert operator.get("/admin/").status_code == 200  # the administrator's own session stays


@pytest.mark.django_db
def test_a_password_set_by_a_command_revokes_the_devices(users, monkeypatch):
    device = tablet("t-monitor")
    monkeypatch.setattr("getpass.getpass", lambda prompt="": NEW_PASSWORD)
    call_command("changepassword", "t-monitor", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert device.get(reverse("api-me")).status_code == 401


@pytest.mark.django_db
def test_other_changes_to_the_account_revoke_nothing(users):
    device = tablet("t-monitor")
    monitor = users["monitor"]
    monitor.first_name = "Renamed"
    monitor.save()
    assert device.get(reverse("api-me")).status_code == 200


@pytest.mark.django_db
def test_disabling_the_password_revokes_the_devices(users):
    device = tablet("t-monitor")
    monitor = users["monitor"]
    monitor.set_unusable_password()
    monitor.save()
    assert device.get(reverse("api-me")).status_code == 401

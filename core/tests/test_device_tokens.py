"""API clients (tablets) log in per device; tokens expire and can be revoked one by one."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from core import services
from core.audit.models import AuditEntry
from core.models import DeviceToken, User
from core.tests.factories import code_for, second_factor_for

PASSWORD = "correct horse battery staple"


def login(client, username, device="Tablet KPN-03", password=PASSWORD, otp_code=None):
    """The device login; an account that needs a second factor is given one (if it has none)
    and sends its code, as the app would."""
    body = {"username": username, "password": password, "device_name": device}
    user = User.objects.filter(username=username).first()
    if otp_code is None and user is not None and services.second_factor_required(user):
        if not services.second_factor_enrolled(user):
            second_factor_for(user)
        otp_code = code_for(user)
    if otp_code is not None:
        body["otp_code"] = otp_code
    return client.post(reverse("api-device-login"), body, format="json")


def with_token(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.mark.django_db
def test_a_device_logs_in_and_its_token_authenticates_the_api(users):
    response = login(APIClient(), "t-monitor")
    assert response.status_code == 201
    body = response.json()
    assert body["roles"] == ["monitor"] and body["device_name"] == "Tablet KPN-03"
    me = with_token(body["token"]).get(reverse("api-me"))
    assert me.status_code == 200
    assert me.json()["username"] == "t-monitor"
    assert me.json()["roles"] == ["monitor"]


@pytest.mark.django_db
def test_a_wrong_password_is_refused_naming_the_field_and_logged(users, caplog):
    response = login(APIClient(), "t-monitor", password="nope")
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400 and body["code"] == "invalid"
    assert "password" in body["errors"]
    assert not DeviceToken.objects.exists()
    assert any("refused device login" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_a_login_without_a_device_name_says_which_field_is_missing(users):
    response = APIClient().post(
        reverse("api-device-login"), {"username": "t-monitor", "password": PASSWORD}
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"device_name": ["This field is required."]}


@pytest.mark.django_db
def test_an_expired_token_is_refused_and_logged(users, caplog):
    token = login(APIClient(), "t-monitor").json()["token"]
    DeviceToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    response = with_token(token).get(reverse("api-me"))
    assert response.status_code == 401
    assert response.json()["status"] == 401
    assert any("refused" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_a_forged_token_under_a_real_key_and_a_deactivated_user_are_refused(users, caplog):
    token = login(APIClient(), "t-monitor").json()["token"]
    assert with_token(token).get(reverse("api-me")).status_code == 200
    # The key (the token's first characters) is right; the rest is not: the digest differs.
    forged = token[:15] + ("0" if token[15] != "0" else "1") + token[16:]
    assert with_token(forged).get(reverse("api-me")).status_code == 401
    users["monitor"].is_active = False
    users["monitor"].save()
    refused = with_token(token).get(reverse("api-me"))
    assert refused.status_code == 401 and "inactive" in refused.json()["detail"].lower()
    assert sum("refused API token" in r.getMessage() for r in caplog.records) == 2


@pytest.mark.django_db
def test_tokens_expire_after_the_configured_lifetime(users):
    login(APIClient(), "t-monitor")
    token = DeviceToken.objects.get()
    assert token.expiry - token.created == pytest.approx(
        timedelta(days=14), abs=timedelta(seconds=5)
    )


@pytest.mark.django_db
def test_revoking_one_lost_tablet_leaves_the_other_devices_working(users):
    lost = login(APIClient(), "t-monitor", device="Tablet lost at Tegh").json()
    kept = login(APIClient(), "t-monitor", device="Tablet spare").json()
    client = with_token(kept["token"])

    devices = client.get(reverse("api-devices")).json()["results"]
    assert {d["device_name"] for d in devices} == {"Tablet lost at Tegh", "Tablet spare"}
    assert [d["current"] for d in devices if d["device_name"] == "Tablet spare"] == [True]

    revoke = client.delete(reverse("api-device-revoke", args=[lost["token_key"]]))
    assert revoke.status_code == 204
    assert with_token(lost["token"]).get(reverse("api-me")).status_code == 401
    assert client.get(reverse("api-me")).status_code == 200
    entry = AuditEntry.objects.filter(model="core.devicetoken", action="delete").get()
    assert entry.actor_label == "t-monitor" and entry.client == "token"
    assert entry.client_ref == kept["token_key"]
    assert entry.changes["digest"] == ["[redacted]", "[redacted]"]
    # The row is named by its public key prefix, never by its digest.
    assert entry.object_pk == lost["token_key"]


@pytest.mark.django_db
def test_logging_out_revokes_the_current_device(users):
    token = login(APIClient(), "t-monitor").json()["token"]
    client = with_token(token)
    assert client.delete(reverse("api-device-revoke", args=["current"])).status_code == 204
    assert client.get(reverse("api-me")).status_code == 401


@pytest.mark.django_db
def test_nobody_can_revoke_someone_elses_device(users):
    victim = login(APIClient(), "t-monitor").json()
    other = with_token(login(APIClient(), "t-coordinator").json()["token"])
    response = other.delete(reverse("api-device-revoke", args=[victim["token_key"]]))
    assert response.status_code == 404
    assert with_token(victim["token"]).get(reverse("api-me")).status_code == 200


@pytest.mark.django_db
def test_the_scheduled_purge_removes_only_expired_tokens_and_is_idempotent(users):
    from core.tasks import device_tokens_purge_expired

    login(APIClient(), "t-monitor", device="old")
    login(APIClient(), "t-monitor", device="current")
    DeviceToken.objects.filter(device_name="old").update(expiry=timezone.now() - timedelta(days=1))
    assert device_tokens_purge_expired() == 1
    assert device_tokens_purge_expired() == 0
    assert list(DeviceToken.objects.values_list("device_name", flat=True)) == ["current"]

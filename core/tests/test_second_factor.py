"""The second factor: coordinators, duty officers, liaison officers, headquarters and
administrators log in with a code of an authenticator app (TOTP) or a recovery code, on the
pages, the admin and the device login; they set it up at their first login. These tests log
in through the real pages (not force_login, which stands for a whole login)."""

import base64
import re

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from core import totp
from core.models import RecoveryCode, SecondFactor
from core.roles import SECOND_FACTOR_ROLES, Role
from core.tests.factories import code_for, second_factor_for

PASSWORD = "correct horse battery staple"


def log_in_with_password(username, path="/login/", next_url=None):
    client = Client()
    data = {"username": username, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    response = client.post(path, data)
    return client, response


def shown_key(html):
    shown = re.search(r'data-testid="setup-secret"[^>]*>(.*?)</code>', html)[1]
    return "".join(re.sub(r"<[^>]+>", "", shown).split())


def give_code(client, code, next_url="/"):
    return client.post(reverse("second-factor"), {"code": code, "next": next_url})


# --- the arithmetic -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "at, expected",
    # RFC 6238, appendix B (SHA-1), the last 6 of its 8 digits (a 6-digit code is the same
    # number modulo 10^6).
    [
        (59, "287082"),
        (1111111109, "081804"),
        (1111111111, "050471"),
        (1234567890, "005924"),
        (2000000000, "279037"),
        (20000000000, "353130"),
    ],
)
def test_codes_are_rfc_6238s(at, expected):
    secret = base64.b32encode(b"12345678901234567890").decode()
    assert totp.code_now(secret, at=at) == expected


def test_a_code_of_the_next_or_last_step_passes_and_none_further():
    secret = totp.new_secret()
    now = 1_800_000_000
    step = totp.step_at(now)
    for offset, accepted in [(-2, False), (-1, True), (0, True), (1, True), (2, False)]:
        code = totp.code_at_step(secret, step + offset)
        found = totp.matching_step(secret, code, after_step=0, at=now)
        assert (found == step + offset) is accepted, offset
    # Never a step at or before the last one accepted.
    code = totp.code_at_step(secret, step)
    assert totp.matching_step(secret, code, after_step=step, at=now) is None


def test_the_qr_codes_uri_is_what_authenticator_apps_read():
    uri = totp.provisioning_uri("JBSWY3DPEHPK3PXP", account="t coord", issuer="missionapp")
    assert uri == (
        "otpauth://totp/missionapp%3At%20coord?secret=JBSWY3DPEHPK3PXP&issuer=missionapp"
        "&digits=6&period=30"
    )


# --- who needs one ----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role))
def test_the_roles_that_need_a_second_factor_are_asked_for_it(users, role):
    client, response = log_in_with_password(f"t-{role.value}")
    assert response.status_code == 302
    if role in SECOND_FACTOR_ROLES:
        assert response["Location"].startswith(reverse("second-factor"))
        assert client.get("/").status_code == 302  # not in yet
    else:
        assert response["Location"] == "/"
        assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_a_half_logged_in_session_reaches_nothing_but_the_second_factor(users):
    second_factor_for(users["coordinator"])
    client, _ = log_in_with_password("t-coordinator")
    for path in ["/", "/patrols/", "/patrols/approvals/", "/incidents/", "/summaries/",
                 "/liaison/", "/account/", "/tablet/"]:  # fmt: skip
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(f"{reverse('second-factor')}?next="), path
    for path in ["/api/me/", "/api/reports/", "/api/patrols/", "/api/schema/"]:
        response = client.get(path)
        assert response.status_code == 403, path
        assert response.json()["code"] == "second_factor_required"
    response = client.post("/api/patrols/", {}, content_type="application/json")
    assert response.status_code == 403
    assert client.get(reverse("second-factor")).status_code == 200
    # Logging out is always possible.
    assert client.post(reverse("logout")).status_code == 302
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_the_admin_asks_for_the_second_factor_after_its_own_login_form(users):
    second_factor_for(users["administrator"])
    users["administrator"].is_staff = True
    users["administrator"].save(update_fields=["is_staff"])
    client, response = log_in_with_password(
        "t-administrator", path="/admin/login/?next=/admin/", next_url="/admin/"
    )
    assert response.status_code == 302
    response = client.get("/admin/")
    assert response["Location"] == f"{reverse('second-factor')}?next=%2Fadmin%2F"
    response = give_code(client, code_for(users["administrator"]), next_url="/admin/")
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


# --- enrolment at the first login -------------------------------------------------------------


@pytest.mark.django_db
def test_a_coordinator_sets_it_up_at_the_first_login_then_logs_in_with_a_code(users):
    client, response = log_in_with_password("t-coordinator", next_url="/patrols/")
    assert response["Location"] == f"{reverse('second-factor')}?next=%2Fpatrols%2F"
    response = client.get(response["Location"])
    assert response["Location"] == f"{reverse('second-factor-setup')}?next=%2Fpatrols%2F"
    page = client.get(response["Location"])
    html = page.content.decode()
    assert 'src="data:image/svg+xml' in html  # the QR code, drawn here (no image service)
    secret = shown_key(html)
    # The same key on a reload: a member who scanned it already is not confused.
    assert shown_key(client.get(reverse("second-factor-setup")).content.decode()) == secret

    wrong = client.post(reverse("second-factor-setup"), {"code": "000000", "next": "/patrols/"})
    assert wrong.status_code == 200
    assert "That code is not right" in wrong.content.decode()
    assert client.get("/patrols/").status_code == 302

    done = client.post(
        reverse("second-factor-setup"), {"code": code_for(secret=secret), "next": "/patrols/"}
    )
    codes = re.findall(r"<li><code>([a-z2-7-]+)</code></li>", done.content.decode())
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/patrols/").status_code == 200
    assert SecondFactor.objects.get(user=users["coordinator"]).confirmed_at is not None

    # The next login: password, then a code of the app.
    client, _ = log_in_with_password("t-coordinator")
    response = give_code(client, code_for(users["coordinator"]))
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_the_session_key_changes_when_the_second_factor_is_given(users):
    second_factor_for(users["duty_officer"])
    client, _ = log_in_with_password("t-duty_officer")
    half = client.session.session_key
    give_code(client, code_for(users["duty_officer"]))
    assert client.session.session_key != half
    assert Client(HTTP_COOKIE=f"sessionid={half}").get("/").status_code == 302


# --- codes that must be refused ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_wrong_code_is_refused_and_says_what_to_type(users):
    second_factor_for(users["headquarters"])
    client, _ = log_in_with_password("t-headquarters")
    for wrong in ["000000", "12345", "abcd-efgh", ""]:
        response = give_code(client, wrong)
        assert response.status_code == 200
        assert "Code" in response.content.decode()
        assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_a_code_works_once(users):
    second_factor_for(users["liaison_officer"])
    code = code_for(users["liaison_officer"])
    first, _ = log_in_with_password("t-liaison_officer")
    assert give_code(first, code).status_code == 302
    second, _ = log_in_with_password("t-liaison_officer")
    response = give_code(second, code)  # seen over a shoulder, typed again
    assert response.status_code == 200
    assert "each code works once" in response.content.decode()
    assert second.get("/").status_code == 302


@pytest.mark.django_db
def test_wrong_codes_lock_the_account_out_even_for_the_right_code(users, settings):
    second_factor_for(users["coordinator"])
    client, _ = log_in_with_password("t-coordinator")
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        give_code(client, "000000")
    response = give_code(client, code_for(users["coordinator"]))
    assert response.status_code == 200
    assert "Too many failed logins" in response.content.decode()
    assert client.get("/").status_code == 302
    # Logging in with the password again does not buy more guesses.
    client, response = log_in_with_password("t-coordinator")
    assert "Too many failed logins" in response.content.decode()


# --- recovery codes ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_recovery_code_logs_in_once(users):
    second_factor_for(users["coordinator"])
    client = Client()
    client.force_login(users["coordinator"])
    page = client.post(reverse("recovery-codes-renew"), {"confirm": "yes"})
    codes = re.findall(r"<li><code>([a-z2-7-]+)</code></li>", page.content.decode())
    assert len(codes) == 10

    first, _ = log_in_with_password("t-coordinator")
    response = give_code(first, codes[3].upper().replace("-", " "))  # as read off a printout
    assert response["Location"] == "/"
    home = first.get("/", follow=True).content.decode()
    assert "9 left" in home
    second, _ = log_in_with_password("t-coordinator")
    assert give_code(second, codes[3]).status_code == 200
    assert second.get("/").status_code == 302
    # New codes replace the old ones.
    client.post(reverse("recovery-codes-renew"), {"confirm": "yes"})
    third, _ = log_in_with_password("t-coordinator")
    assert give_code(third, codes[4]).status_code == 200


@pytest.mark.django_db
def test_neither_the_secret_nor_the_recovery_codes_are_readable_in_the_database(users):
    secret = second_factor_for(users["coordinator"])
    client = Client()
    client.force_login(users["coordinator"])
    codes = re.findall(
        r"<li><code>([a-z2-7-]+)</code></li>",
        client.post(reverse("recovery-codes-renew"), {"confirm": "yes"}).content.decode(),
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT secret FROM {SecondFactor._meta.db_table}")  # noqa: S608
        stored_secret = cursor.fetchone()[0]
        cursor.execute(f"SELECT digest FROM {RecoveryCode._meta.db_table}")  # noqa: S608
        stored_codes = " ".join(row[0] for row in cursor.fetchall())
    assert secret not in stored_secret
    for code in codes:
        assert code not in stored_codes and code.replace("-", "") not in stored_codes


# --- the device login -------------------------------------------------------------------------


def device_login(username, **extra):
    return APIClient().post(
        reverse("api-device-login"),
        {"username": username, "password": PASSWORD, "device_name": "Laptop HQ-1", **extra},
        format="json",
    )


@pytest.mark.django_db
def test_the_device_login_needs_the_code_from_those_who_need_one(users):
    response = device_login("t-coordinator")
    assert response.status_code == 400
    assert "set up an authenticator app" in response.json()["errors"]["otp_code"][0]

    second_factor_for(users["coordinator"])
    response = device_login("t-coordinator")
    assert response.status_code == 400
    assert "6-digit code" in response.json()["errors"]["otp_code"][0]
    response = device_login("t-coordinator", otp_code="000000")
    assert response.status_code == 400
    assert "not right" in response.json()["errors"]["otp_code"][0]
    response = device_login("t-coordinator", otp_code=code_for(users["coordinator"]))
    assert response.status_code == 201
    # A monitor's tablet logs in with the password, as before.
    assert device_login("t-monitor").status_code == 201


@pytest.mark.django_db
def test_a_monitor_who_set_one_up_is_asked_for_it_too(users):
    second_factor_for(users["monitor"])
    client, response = log_in_with_password("t-monitor")
    assert response["Location"].startswith(reverse("second-factor"))
    assert device_login("t-monitor").status_code == 400


# --- an administrator resets a lost one -------------------------------------------------------


@pytest.mark.django_db
def test_an_administrator_resets_a_lost_second_factor_through_the_admin(users, settings):
    from django.contrib.auth.models import Group

    admin_user = users["administrator"]
    admin_user.is_superuser = admin_user.is_staff = True
    admin_user.save(update_fields=["is_superuser", "is_staff"])
    coordinator = users["coordinator"]
    second_factor_for(coordinator)
    victim_session, _ = log_in_with_password("t-coordinator")
    give_code(victim_session, code_for(coordinator))
    assert victim_session.get("/").status_code == 200

    operator = Client()
    operator.force_login(admin_user)
    response = operator.post(
        reverse("admin:core_user_changelist"),
        {"action": "second_factor_reset", "_selected_action": [coordinator.pk]},
    )
    assert response.status_code == 302
    assert not SecondFactor.objects.filter(user=coordinator).exists()
    assert not RecoveryCode.objects.filter(user=coordinator).exists()
    assert victim_session.get("/").status_code == 302  # the sessions ended
    client, _ = log_in_with_password("t-coordinator")
    response = client.get(reverse("second-factor"))
    assert response["Location"].startswith(reverse("second-factor-setup"))
    assert Group.objects.filter(name=Role.COORDINATOR, user=coordinator).exists()


@pytest.mark.django_db
def test_a_token_from_a_password_only_login_stops_working_when_the_role_needs_a_code(users):
    """A monitor's tablet token, then the monitor is made a coordinator (and every token
    coordinators held before second factors existed): refused until logged in again with a
    code."""
    from django.contrib.auth.models import Group

    monitor = users["monitor"]
    token = device_login("t-monitor").json()["token"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get(reverse("api-me")).status_code == 200
    monitor.groups.add(Group.objects.get(name=str(Role.COORDINATOR)))
    response = api.get(reverse("api-me"))
    assert response.status_code == 401
    assert "without a second factor" in response.json()["detail"]
    second_factor_for(monitor)
    again = device_login("t-monitor", otp_code=code_for(monitor)).json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {again}")
    assert api.get(reverse("api-me")).status_code == 200


@pytest.mark.django_db
def test_a_key_seen_in_another_session_is_not_the_one_the_member_sets_up(
    users, mailoutbox, django_capture_on_commit_callbacks
):
    """Someone with only the password opens the set-up page and copies the key: the member's
    own session shows another one, so the copied key never becomes the second factor (found
    by review: the key was one per account); the member is told by e-mail."""
    attacker, _ = log_in_with_password("t-coordinator")
    stolen = shown_key(attacker.get(reverse("second-factor-setup")).content.decode())
    member, _ = log_in_with_password("t-coordinator")
    key = shown_key(member.get(reverse("second-factor-setup")).content.decode())
    assert key != stolen
    with django_capture_on_commit_callbacks(execute=True):
        member.post(reverse("second-factor-setup"), {"code": code_for(secret=key), "next": "/"})
    assert member.get("/").status_code == 200
    # The attacker's page cannot confirm its key any more, and its codes do not log in.
    refused = attacker.post(
        reverse("second-factor-setup"), {"code": code_for(secret=stolen), "next": "/"}
    )
    assert refused.status_code == 302 and attacker.get("/").status_code == 302
    again, _ = log_in_with_password("t-coordinator")
    assert give_code(again, code_for(secret=stolen)).status_code == 200
    assert again.get("/").status_code == 302
    [mail] = mailoutbox
    assert mail.to == [users["coordinator"].email]
    assert "If this was not you" in mail.body


@pytest.mark.django_db
def test_refusals_with_the_right_password_or_while_locked_are_logged(users, caplog, settings):
    import logging

    caplog.set_level(logging.INFO, logger="missionapp.security")
    assert device_login("t-duty_officer").status_code == 400  # none set up
    second_factor_for(users["coordinator"])
    assert device_login("t-coordinator").status_code == 400  # no code sent
    assert "refused device login of t-duty_officer from 127.0.0.1: right password, no second" in (
        caplog.text
    )
    assert "refused device login of t-coordinator from 127.0.0.1: right password, no code" in (
        caplog.text
    )
    client, _ = log_in_with_password("t-coordinator")
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        give_code(client, "000000")
    caplog.clear()
    give_code(client, "111111")
    assert "refused second-factor code of 't-coordinator'" in caplog.text


@pytest.mark.django_db
def test_a_set_up_begun_under_the_first_design_does_not_block_the_member(users):
    """A row left unconfirmed (the key was kept in the database then) is replaced."""
    SecondFactor.objects.create(user=users["coordinator"], secret=totp.new_secret())
    client, _ = log_in_with_password("t-coordinator")
    key = shown_key(client.get(reverse("second-factor-setup")).content.decode())
    client.post(reverse("second-factor-setup"), {"code": code_for(secret=key), "next": "/"})
    assert client.get("/").status_code == 200
    assert SecondFactor.objects.get(user=users["coordinator"]).confirmed_at is not None

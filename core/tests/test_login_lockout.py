"""Failed logins lock out the account and the client address on every login path (the login
page, the admin's, the API's device login), counted in the cache every process shares; the
client address is REMOTE_ADDR unless a trusted proxy vouches for another."""

import logging
import subprocess
import sys
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.cache import caches
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from conftest import BASE_DIR, _process_env
from core import security
from core.tests.factories import UserFactory

PASSWORD = "correct horse battery staple"
LIMIT = settings.LOGIN_FAILURES_PER_ACCOUNT


def api_login(username, password, address, remote="127.0.0.1"):
    return APIClient(REMOTE_ADDR=remote).post(
        reverse("api-device-login"),
        {"username": username, "password": password, "device_name": "Tablet KPN-03"},
        format="json",
        HTTP_X_FORWARDED_FOR=address,
    )


def page_login(path, username, password, address="203.0.113.9"):
    client = Client(REMOTE_ADDR="127.0.0.1")
    response = client.post(
        path, {"username": username, "password": password}, HTTP_X_FORWARDED_FOR=address
    )
    return client, response


@pytest.mark.django_db
def test_rotating_x_forwarded_for_does_not_escape_the_api_lockout(users, caplog):
    caplog.set_level(logging.WARNING, logger="missionapp.security")
    for attempt in range(LIMIT):
        response = api_login("t-monitor", "wrong", f"198.51.100.{attempt}")
        assert response.status_code == 400, response.json()
    # The right password, from yet another claimed address: still refused, and said why.
    response = api_login("t-monitor", PASSWORD, "198.51.100.200")
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "throttled"
    assert "Too many failed logins for this account" in body["detail"]
    assert int(response["Retry-After"]) > 60
    assert not users["monitor"].auth_token_set.exists()
    assert "login locked out: account 't-monitor' after 5 failures" in caplog.text
    assert "refused login of 't-monitor' from 127.0.0.1: locked out (account)" in caplog.text


@pytest.mark.django_db
@override_settings(LOGIN_FAILURES_PER_ADDRESS=1000)  # the throttle alone, not the lockout
def test_the_api_login_throttle_counts_the_address_that_connected(users):
    # 20 a minute per address: a new X-Forwarded-For each time used to be a new address.
    answers = [api_login(f"nobody-{n}", "wrong", f"192.0.2.{n}") for n in range(21)]
    assert [a.status_code for a in answers[:20]] == [400] * 20
    assert answers[20].status_code == 429
    assert "throttled" in answers[20].json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_the_login_pages_lock_the_account_out_whatever_address_is_claimed(users, path):
    for attempt in range(LIMIT):
        _, response = page_login(path, "t-administrator", "wrong", f"198.51.100.{attempt}")
        assert response.status_code == 200
        assert "correct username and password" in response.content.decode()
    client, response = page_login(path, "t-administrator", PASSWORD, "198.51.100.99")
    assert response.status_code == 200  # the form again, not a redirect into the site
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Another account from the same address is not locked by these five.
    _, response = page_login("/login/", "t-monitor", PASSWORD)
    assert response.status_code == 302


@pytest.mark.django_db
def test_many_accounts_tried_from_one_address_lock_the_address_out(users):
    for n in range(settings.LOGIN_FAILURES_PER_ADDRESS):
        response = api_login(f"guess-{n}", "wrong", "ignored", remote="192.0.2.7")
        assert response.status_code in (400, 429)
    # A real account with its right password, from that address: refused.
    client = Client(REMOTE_ADDR="192.0.2.7")
    response = client.post("/login/", {"username": "t-monitor", "password": PASSWORD})
    assert "Too many failed logins from this address" in response.content.decode()
    # From another address it logs in.
    response = Client(REMOTE_ADDR="192.0.2.8").post(
        "/login/", {"username": "t-monitor", "password": PASSWORD}
    )
    assert response.status_code == 302


@pytest.mark.django_db
def test_a_lockout_ends_after_its_time_and_a_success_clears_the_count(users):
    for _ in range(LIMIT):
        page_login("/login/", "t-monitor", "wrong")
    assert security.login_locked(None, "t-monitor") is not None
    later = timezone.now() + timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES, seconds=5)
    with time_machine.travel(later, tick=False):
        _, response = page_login("/login/", "t-monitor", PASSWORD)
        assert response.status_code == 302
        # The success cleared the account's count: LIMIT - 1 more failures do not lock it.
        for _ in range(LIMIT - 1):
            page_login("/login/", "t-monitor", "wrong")
        assert security.login_locked(None, "t-monitor") is None


@pytest.mark.django_db
def test_a_username_in_other_letters_counts_as_the_same_account(users):
    for name in ["t-monitor", "T-MONITOR", "T-Monitor", "t-monitor", "ｔ-monitor"]:
        page_login("/login/", name, "wrong")
    _, response = page_login("/login/", "t-monitor", PASSWORD)
    assert "Too many failed logins" in response.content.decode()


@pytest.mark.django_db
def test_failures_while_locked_out_do_not_push_the_end_further(users):
    for _ in range(LIMIT):
        page_login("/login/", "t-monitor", "wrong")
    until = security.login_locked(None, "t-monitor")
    with time_machine.travel(timezone.now() + timedelta(minutes=10), tick=False):
        for _ in range(3):
            page_login("/login/", "t-monitor", "wrong")
        assert security.login_locked(None, "t-monitor") == until


@pytest.mark.django_db(transaction=True)
def test_the_counts_are_shared_by_every_process(users, tmp_path):
    """Failures recorded by another process (another gunicorn worker) lock out here."""
    assert caches["default"].__class__.__name__ in ("DatabaseCache", "RedisCache")
    script = (
        "import django; django.setup()\n"
        "from django.test import RequestFactory\n"
        "from core import security\n"
        "request = RequestFactory().post('/login/', REMOTE_ADDR='198.51.100.1')\n"
        f"for _ in range({LIMIT}):\n"
        "    security.login_failure_record(request, 't-coordinator')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        env=_process_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    _, response = page_login("/login/", "t-coordinator", PASSWORD)
    assert "Too many failed logins" in response.content.decode()


# --- the client's address ---------------------------------------------------------------------


def address(remote, forwarded=None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return security.client_address(RequestFactory().get("/", **meta))


def test_without_a_trusted_proxy_the_client_is_who_connected():
    assert address("203.0.113.5", "1.2.3.4") == "203.0.113.5"
    assert address("203.0.113.5") == "203.0.113.5"


@override_settings(TRUSTED_PROXIES=["10.0.0.0/8"])
def test_behind_a_trusted_proxy_the_client_is_what_the_proxy_saw():
    # The proxy appends the address it received from; what the client wrote is on the left.
    assert address("10.0.0.2", "1.2.3.4, 203.0.113.5") == "203.0.113.5"
    # Two of our proxies in a row: the first address neither of them is.
    assert address("10.0.0.2", "1.2.3.4, 203.0.113.5, 10.0.0.3") == "203.0.113.5"
    # A client connecting around the proxy is not believed.
    assert address("203.0.113.7", "1.2.3.4") == "203.0.113.7"
    # Garbage where our proxy writes: the proxy itself, nothing from the client.
    assert address("10.0.0.2", "1.2.3.4, not-an-address") == "10.0.0.2"
    assert address("10.0.0.2") == "10.0.0.2"


@override_settings(TRUSTED_PROXIES=["127.0.0.1"])
@pytest.mark.django_db
def test_behind_the_proxy_two_clients_are_counted_apart(users):
    for _ in range(settings.LOGIN_FAILURES_PER_ADDRESS):
        api_login(f"guess-{_}", "wrong", "203.0.113.5", remote="127.0.0.1")
    locked = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5")
    other = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.6")
    body = {"username": "t-monitor", "password": PASSWORD}
    assert "Too many failed logins" in locked.post("/login/", body).content.decode()
    assert other.post("/login/", body).status_code == 302


def test_an_ipv6_client_is_counted_by_its_slash_64():
    first = security._keys("x", "2001:db8:1:2::1")["address"]
    assert security._keys("x", "2001:db8:1:2:ffff::9")["address"] == first
    assert security._keys("x", "2001:db8:1:3::1")["address"] != first


@pytest.mark.django_db
def test_an_administrator_can_lift_a_lockout(users):
    for _ in range(LIMIT):
        page_login("/login/", "t-monitor", "wrong")
    from django.core.management import call_command

    call_command("login_unlock", "t-monitor", verbosity=0)
    _, response = page_login("/login/", "t-monitor", PASSWORD)
    assert response.status_code == 302


@pytest.mark.django_db
def test_an_inactive_or_unknown_account_gets_the_same_answer_as_a_wrong_password(users):
    UserFactory(username="gone", is_active=False)
    answers = {
        api_login(name, PASSWORD if name != "t-monitor" else "wrong", "x").json()["errors"][
            "password"
        ][0]
        for name in ("t-monitor", "gone", "never-existed")
    }
    assert answers == {"Unknown username or wrong password."}


def test_the_database_cache_does_not_cull_lockouts_to_make_room():
    """Django's database cache kept 300 entries, then deleted a third of them, lockouts
    included: an attacker who filled it with made-up accounts' failures (about 1,900 requests
    from a few dozen IPv6 /64s, found by review) lifted the real account's lockout."""
    cache = caches["default"]
    if cache.__class__.__name__ == "DatabaseCache":
        assert cache._max_entries >= 1_000_000
    else:
        assert cache.__class__.__name__ == "RedisCache"  # evicts nothing as compose runs it


@pytest.mark.django_db
def test_attempts_under_way_count_before_their_password_is_checked(users):
    """Five guesses sent at once, still being checked: a sixth, with the right password, is
    refused (counting after the check let a burst of 18 parallel guesses all be tried)."""
    in_flight = [RequestFactory().post("/login/", REMOTE_ADDR=f"198.51.100.{n}") for n in range(5)]
    for request in in_flight:
        assert security.login_attempt_begin(request, "t-coordinator") is None
    _, response = page_login("/login/", "t-coordinator", PASSWORD)
    assert "Too many failed logins for this account" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_database_cache_counts_every_increment_of_many_threads_at_once():
    """On the embedded stack the counters are rows of the database: Django's incr() (a get,
    then a set) lost increments made at the same moment; ours holds the row."""
    from conftest import in_thread

    cache = caches["default"]
    if cache.__class__.__name__ != "DatabaseCache":
        assert cache.__class__.__name__ == "RedisCache"  # INCR is atomic there
        return
    cache.set("counted", 0, timeout=600)
    errors = []

    def count():
        for _ in range(25):
            caches["default"].incr("counted")

    threads = [in_thread(count, errors) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert cache.get("counted") == 200


@pytest.mark.django_db
def test_a_count_always_expires_and_taking_one_back_never_makes_one():
    """Django's Redis incr() is EXISTS then INCRBY: a counter expiring between the two came
    back with no expiry and counted for ever (found by review)."""
    from core.cache import counter_add, counter_take_back

    cache = caches["default"]
    counter_take_back(cache, "never-counted")
    assert cache.get("never-counted") is None
    assert counter_add(cache, "counted", 60) == 1
    assert counter_add(cache, "counted", 60) == 2
    counter_take_back(cache, "counted")
    assert cache.get("counted") == 1
    if cache.__class__.__name__ == "RedisCache":
        raw = cache.make_and_validate_key("counted")
        assert 0 < cache._cache.get_client(raw).ttl(raw) <= 60
    else:
        with time_machine.travel(timezone.now() + timedelta(seconds=61), tick=False):
            assert cache.get("counted") is None

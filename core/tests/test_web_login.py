"""The web login: a failed login is refused and logged without the password; pages need a
login."""

import logging

import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_a_failed_web_login_is_refused_and_logged_without_the_password(client, users, caplog):
    with caplog.at_level(logging.WARNING, logger="missionapp.security"):
        response = client.post(
            reverse("login"), {"username": "t-monitor", "password": "guessed-wrong"}
        )
    assert response.status_code == 200  # the form again, with its error
    assert "_auth_user_id" not in client.session
    messages = [r.getMessage() for r in caplog.records]
    assert any("failed login for 't-monitor'" in m for m in messages)
    assert not any("guessed-wrong" in m for m in messages)


@pytest.mark.django_db
def test_pages_need_a_login(client, users):
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    client.force_login(users["monitor"])
    assert client.get(reverse("home")).status_code == 200

"""A token header a client garbles is a 401 that says what a token looks like, never a 500:
`Token éé` (Latin-1, as a server hands headers over) made knox's UTF-8 decoding raise."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from core.tests.test_device_tokens import login, with_token

pytestmark = pytest.mark.django_db
GARBLED = [
    "éé",  # Latin-1 bytes: not UTF-8
    "Ã©Ã©",  # UTF-8 "éé" as a server decodes it (Latin-1): ASCII it is not
    "\x00" + "a" * 63,  # a control character
    "f" * 300,  # far longer than any token
    "ab\x7fcd",
]


@pytest.mark.parametrize("token", GARBLED)
def test_a_garbled_token_is_refused_with_a_401_saying_what_a_token_is(token, users, caplog):
    response = with_token(token).get(reverse("api-me"))

    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "authentication_failed"
    assert "Authorization: Token <token>" in body["detail"]
    assert response["WWW-Authenticate"] == "Token"
    assert any("refused API token" in r.getMessage() for r in caplog.records)


def test_a_header_no_server_could_hand_over_is_refused_too(users):
    client = APIClient()
    # Only a test client can put a character Latin-1 cannot carry into a header.
    client.credentials(HTTP_AUTHORIZATION="Token €€")
    assert client.get(reverse("api-me")).status_code == 401


def test_a_wellformed_token_still_authenticates_and_a_wrong_one_is_refused(users):
    token = login(APIClient(), "t-monitor").json()["token"]
    assert with_token(token).get(reverse("api-me")).status_code == 200
    wrong = with_token(token[:-1] + ("0" if token[-1] != "0" else "1")).get(reverse("api-me"))
    assert wrong.status_code == 401
    assert wrong.json()["detail"] == "Invalid token."

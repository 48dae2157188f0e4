"""Need-to-know, for every role on every contact and log endpoint and page: liaison officers,
coordinators and administrators see contacts; monitors and team leaders see only their own
sector's hotlines (another sector's contact is a 404); headquarters and duty officers see
counts but no names; someone without a role is refused."""

import logging

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from liaison.models import Contact, LogEntry
from liaison.tests.conftest import SECRET_EMAIL, SECRET_PHONE, SYUNIK_HOTLINE, TAVUSH_HOTLINE

pytestmark = pytest.mark.django_db

FULL = ["liaison_officer", "coordinator", "administrator"]
SECTOR = ["monitor", "team_leader"]
COUNTS = ["headquarters", "duty_officer"]
EVERYONE = [*FULL, *SECTOR, *COUNTS, "outsider"]


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def expected(role, full, sector, counts, outsider=403):
    if role in FULL:
        return full
    if role in SECTOR:
        return sector
    if role in COUNTS:
        return counts
    return outsider


# --- API ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", EVERYONE)
def test_contact_list_api_by_role(role, users, world):
    response = api(users[role]).get(reverse("api-liaison-contacts"))
    assert response.status_code == expected(role, 200, 200, 403)
    if response.status_code != 200:
        assert response.json()["status"] == 403
        return
    body = response.content.decode()
    rows = response.json()["results"]
    if role in FULL:
        assert {r["name_latin"] for r in rows} == {"Aram Petrosyan", "Elchin Mammadov"}
        assert SECRET_PHONE not in body  # a list shows no channels
    else:
        assert [r["id"] for r in rows] == [world["south"].pk]
        assert rows[0]["hotlines"][0]["value"] == SYUNIK_HOTLINE
        for hidden in ("Petrosyan", "Major", SECRET_PHONE, SECRET_EMAIL, TAVUSH_HOTLINE):
            assert hidden not in body


@pytest.mark.parametrize("role", EVERYONE)
def test_contact_detail_api_of_the_monitors_sector_by_role(role, users, world):
    response = api(users[role]).get(reverse("api-liaison-contact", args=[world["south"].pk]))
    assert response.status_code == expected(role, 200, 200, 403)
    body = response.content.decode()
    if role in FULL:
        assert SECRET_PHONE in body and SECRET_EMAIL in body and "Aram Petrosyan" in body
    elif role in SECTOR:
        assert SYUNIK_HOTLINE in body
        for hidden in ("Petrosyan", "Major", SECRET_PHONE, SECRET_EMAIL, "noon"):
            assert hidden not in body
    else:
        assert "Petrosyan" not in body and SYUNIK_HOTLINE not in body


@pytest.mark.parametrize("role", EVERYONE)
def test_contact_detail_api_of_another_sector_by_role(role, users, world, caplog):
    caplog.set_level(logging.WARNING, logger="missionapp.security")
    response = api(users[role]).get(reverse("api-liaison-contact", args=[world["north"].pk]))
    # The monitor gets 404: nothing tells them the contact exists.
    assert response.status_code == expected(role, 200, 404, 403)
    if response.status_code == 403:
        assert "refused GET" in caplog.text
    if response.status_code == 404:
        assert f"hidden contact #{world['north'].pk} asked for by t-{role}" in caplog.text


@pytest.mark.parametrize("role", EVERYONE)
def test_contact_summary_api_gives_counts_without_names(role, users, world):
    response = api(users[role]).get(reverse("api-liaison-contact-summary"))
    assert response.status_code == expected(role, 200, 200, 200)
    if response.status_code == 200:
        assert {"party": "Republic of Armenia", "sector": "Syunik", "contacts": 1} in (
            response.json()
        )
        assert "Petrosyan" not in response.content.decode()


@pytest.mark.parametrize("role", EVERYONE)
def test_contact_create_and_update_api_by_role(role, users, world):
    client = api(users[role])
    phone = {"kind": "phone", "value": "+994 12 3456789", "preferred": True}
    payload = {"party": "azerbaijan", "name_latin": "Rashad Aliyev", "sectors": ["Tavush"],
               "channels": [phone]}  # fmt: skip
    response = client.post(reverse("api-liaison-contacts"), payload, format="json")
    assert response.status_code == expected(role, 201, 403, 403)
    response = client.patch(
        reverse("api-liaison-contact", args=[world["south"].pk]), {"position": "Colonel"},
        format="json",
    )  # fmt: skip
    assert response.status_code == expected(role, 200, 403, 403)
    assert Contact.objects.filter(position="Colonel").exists() == (role in FULL)


@pytest.mark.parametrize("role", EVERYONE)
def test_log_and_follow_up_apis_by_role(role, users, world):
    client = api(users[role])
    follow_up = {"action": "Call back", "owner": "t-liaison_officer", "due_on": "2026-11-21"}
    payload = {
        "occurred_at": "2026-11-20T10:00:00+04:00", "kind": "hotline", "topic": "water",
        "initiating_party": "azerbaijan", "sector": "Tavush", "participants": [world["north"].pk],
        "summary": "Irrigation channel blocked near the line.",
        "follow_ups": [follow_up],
    }  # fmt: skip
    created = client.post(reverse("api-liaison-log"), payload, format="json")
    assert created.status_code == expected(role, 201, 403, 403)
    listed = client.get(reverse("api-liaison-log"))
    assert listed.status_code == expected(role, 200, 403, 403)
    follow_ups = client.get(reverse("api-liaison-follow-ups"))
    assert follow_ups.status_code == expected(role, 200, 403, 403)
    assert LogEntry.objects.exists() == (role in FULL)


@pytest.mark.parametrize("role", EVERYONE)
def test_hotline_activation_counts_api_by_role(role, users, world):
    from liaison.services import log_entry_create

    log_entry_create(by=users["liaison_officer"], occurred_at=world["south"].created_at,
                     kind="hotline", topic="deescalation", summary="Shots.",
                     initiating_party=world["azerbaijan"], sector=world["syunik"])  # fmt: skip
    response = api(users[role]).get(
        reverse("api-liaison-hotline-activations"),
        {"start": "2000-01-01T00:00:00Z", "end": "2100-01-01T00:00:00Z"},
    )
    assert response.status_code == expected(role, 200, 403, 200)
    if response.status_code == 200:
        assert response.json() == [{"sector": "Syunik", "initiated_by": "Republic of Azerbaijan",
                                    "topic": "deescalation", "activations": 1}]  # fmt: skip


def test_hotline_counts_need_a_valid_period(users, world):
    response = api(users["headquarters"]).get(
        reverse("api-liaison-hotline-activations"),
        {"start": "2026-11-02T00:00:00Z", "end": "2026-11-01T00:00:00Z"},
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"end": ["The end must be after the start."]}


def test_an_anonymous_caller_is_refused_everywhere(client, world):
    for name, args in [("api-liaison-contacts", []), ("api-liaison-contact-summary", []),
                       ("api-liaison-contact", [world["south"].pk]), ("api-liaison-log", []),
                       ("api-liaison-follow-ups", []),
                       ("api-liaison-hotline-activations", [])]:  # fmt: skip
        assert APIClient().get(reverse(name, args=args)).status_code in (401, 403)


# --- Pages -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", EVERYONE)
def test_contacts_page_by_role(role, client, users, world):
    client.force_login(users[role])
    response = client.get(reverse("liaison-contacts"))
    assert response.status_code == expected(role, 200, 200, 200, outsider=403)
    body = response.content.decode()
    if role in FULL:
        assert "Aram Petrosyan" in body and "Elchin Mammadov" in body
    elif role in SECTOR:
        assert SYUNIK_HOTLINE in body
        assert "Petrosyan" not in body and TAVUSH_HOTLINE not in body
    elif role in COUNTS:
        assert 'data-testid="contact-counts"' in body
        assert "Petrosyan" not in body and "Mammadov" not in body and SYUNIK_HOTLINE not in body


@pytest.mark.parametrize("role", EVERYONE)
def test_contact_pages_by_role(role, client, users, world):
    client.force_login(users[role])
    south = client.get(reverse("liaison-contact", args=[world["south"].pk]))
    north = client.get(reverse("liaison-contact", args=[world["north"].pk]))
    assert south.status_code == expected(role, 200, 200, 403)
    assert north.status_code == expected(role, 200, 404, 403)
    if role in SECTOR:
        assert SYUNIK_HOTLINE in south.content.decode()
        assert SECRET_PHONE not in south.content.decode()
    if role in FULL:
        assert SECRET_PHONE in south.content.decode()


@pytest.mark.parametrize("role", EVERYONE)
def test_log_entry_form_and_follow_ups_pages_by_role(role, client, users, world):
    client.force_login(users[role])
    form = client.get(reverse("liaison-log-new", args=[world["south"].pk]))
    assert form.status_code == expected(role, 200, 403, 403)
    dashboard = client.get(reverse("liaison-follow-ups"))
    assert dashboard.status_code == expected(role, 200, 403, 403)


@pytest.mark.parametrize("role", EVERYONE)
def test_the_header_links_to_liaison_for_every_mission_role(role, client, users):
    client.force_login(users[role])
    body = client.get(reverse("patrol-calendar")).content.decode()
    assert (reverse("liaison-contacts") in body) == (role != "outsider")


@pytest.mark.parametrize("role", EVERYONE)
def test_the_map_of_contacts_by_sector_shows_counts_without_names(
    role, client, users, world, django_assert_max_num_queries
):
    client.force_login(users[role])
    with django_assert_max_num_queries(14):
        response = client.get(reverse("liaison-map"))
    assert response.status_code == expected(role, 200, 403, 200)
    if response.status_code == 200:
        body = response.content.decode()
        assert "<svg" in body and "Petrosyan" not in body and SYUNIK_HOTLINE not in body
        rows = dict(response.context["rows"])
        assert rows[world["syunik"]] == 1 and rows[world["tavush"]] == 1


@pytest.mark.parametrize("role", EVERYONE)
def test_marking_a_follow_up_done_by_role(role, client, users, world):
    from liaison.models import FollowUp
    from liaison.services import log_entry_create

    entry = log_entry_create(by=users["liaison_officer"], occurred_at=world["south"].created_at,
                             kind="phone", topic="other", summary="Call.")  # fmt: skip
    follow_up = FollowUp.objects.create(entry=entry, action="Call back",
                                        owner=users["liaison_officer"],
                                        due_on=world["south"].created_at.date())  # fmt: skip
    response = api(users[role]).post(reverse("api-liaison-follow-up-done", args=[follow_up.pk]))
    assert response.status_code == expected(role, 200, 403, 403)
    client.force_login(users[role])
    page = client.post(reverse("liaison-follow-up-done", args=[follow_up.pk]))
    assert page.status_code == expected(role, 302, 403, 403, outsider=403)
    follow_up.refresh_from_db()
    assert (follow_up.done_at is not None) == (role in FULL)


def test_a_bad_channel_is_named_by_field_without_echoing_the_value(users, world):
    response = api(users["liaison_officer"]).patch(
        reverse("api-liaison-contact", args=[world["south"].pk]),
        {"channels": [{"kind": "phone", "value": "+374 1"},
                      {"kind": "email", "value": "not-an-address.example"}]},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json()["errors"] == {"channels.1.value": ["Enter a valid e-mail address."]}
    assert "not-an-address" not in response.content.decode()
    assert world["south"].channels.count() == 3  # nothing replaced

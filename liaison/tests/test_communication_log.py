"""The communication log: entries with participants and follow-ups, overdue follow-ups on
the liaison officer's dashboard, hotline activations counted per sector and party, and the
new-entry form that keeps what was typed and puts errors next to the fields."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from liaison import selectors, services
from liaison.models import FollowUp, LogEntry

pytestmark = pytest.mark.django_db
DAY = datetime(2026, 11, 10, tzinfo=UTC)


def hotline(by, party, sector, topic, at):
    return services.log_entry_create(by=by, occurred_at=at, kind=LogEntry.Kind.HOTLINE,
                                     topic=topic, summary="Call.", initiating_party=party,
                                     sector=sector)  # fmt: skip


def test_an_entry_records_participants_follow_ups_and_restarts_their_retention_clock(users, world):
    officer = users["liaison_officer"]
    entry = services.log_entry_create(
        by=officer, occurred_at=DAY, kind=LogEntry.Kind.MEETING, topic=LogEntry.Topic.WATER,
        summary="Irrigation schedule for the canal.", initiating_party=None,
        participants=[world["south"]], mission_staff=[officer], outcome="Agreed.",
        follow_ups=[services.FollowUpSpec("Send minutes", officer, date(2026, 11, 12))],
    )  # fmt: skip
    assert entry.initiated_by == "Mission"
    assert list(entry.participants.all()) == [world["south"]]
    assert entry.follow_ups.get().owner == officer
    world["south"].refresh_from_db()
    assert world["south"].last_contacted_at == DAY


def test_an_exchange_logged_late_does_not_turn_the_retention_clock_back(users, world):
    officer = users["liaison_officer"]
    hotline(officer, None, None, LogEntry.Topic.OTHER, DAY)
    services.log_entry_create(by=officer, occurred_at=DAY - timedelta(days=30), kind="phone",
                              topic="other", summary="Old call.",
                              participants=[world["south"]])  # fmt: skip
    services.log_entry_create(by=officer, occurred_at=DAY, kind="phone", topic="other",
                              summary="Call.", participants=[world["south"]])  # fmt: skip
    services.log_entry_create(by=officer, occurred_at=DAY - timedelta(days=3), kind="phone",
                              topic="other", summary="Late note.",
                              participants=[world["south"]])  # fmt: skip
    world["south"].refresh_from_db()
    assert world["south"].last_contacted_at == DAY


def test_an_entry_in_the_future_is_refused(users, world):
    with pytest.raises(Exception) as info:
        hotline(users["liaison_officer"], None, None, LogEntry.Topic.OTHER,
                timezone.now() + timedelta(days=1))  # fmt: skip
    assert "occurred_at" in str(info.value)


def test_overdue_follow_ups_are_listed_soonest_first(users, world):
    officer = users["liaison_officer"]
    entry = hotline(officer, None, None, LogEntry.Topic.OTHER, DAY)
    late = FollowUp.objects.create(entry=entry, action="Late", owner=officer,
                                   due_on=date(2026, 11, 11))  # fmt: skip
    later = FollowUp.objects.create(entry=entry, action="Later", owner=officer,
                                    due_on=date(2026, 11, 13))  # fmt: skip
    FollowUp.objects.create(entry=entry, action="Done", owner=officer, due_on=date(2026, 11, 1),
                            done_at=DAY)  # fmt: skip
    FollowUp.objects.create(entry=entry, action="Not yet", owner=officer,
                            due_on=date(2026, 11, 20))  # fmt: skip
    assert list(selectors.follow_ups_overdue(today=date(2026, 11, 14))) == [late, later]


def test_the_dashboard_shows_overdue_follow_ups(client, users, world):
    officer = users["liaison_officer"]
    entry = hotline(officer, None, None, LogEntry.Topic.OTHER, DAY)
    FollowUp.objects.create(entry=entry, action="Call the post back", owner=officer,
                            due_on=timezone.localdate() - timedelta(days=2))  # fmt: skip
    client.force_login(officer)
    body = client.get(reverse("liaison-follow-ups")).content.decode()
    assert 'data-testid="overdue-row"' in body and "Call the post back" in body


def test_hotline_activations_are_counted_per_sector_and_party(users, world):
    officer = users["liaison_officer"]
    az, am = world["azerbaijan"], world["armenia"]
    for _ in range(2):
        hotline(officer, az, world["tavush"], LogEntry.Topic.DEESCALATION, DAY)
    hotline(officer, am, world["syunik"], LogEntry.Topic.WATER, DAY)
    hotline(officer, am, world["syunik"], LogEntry.Topic.WATER, DAY - timedelta(days=3))
    counts = selectors.hotline_activation_counts(start=DAY, end=DAY + timedelta(days=1))
    assert counts == [
        {"sector": "Syunik", "initiated_by": "Republic of Armenia", "topic": "water",
         "activations": 1},
        {"sector": "Tavush", "initiated_by": "Republic of Azerbaijan", "topic": "deescalation",
         "activations": 2},
    ]  # fmt: skip


def test_the_new_entry_form_keeps_what_was_typed_and_names_the_field(client, users, world):
    client.force_login(users["liaison_officer"])
    url = reverse("liaison-log-new", args=[world["south"].pk])
    response = client.post(url, {
        "occurred_at": "2026-11-10T10:30", "kind": "phone", "topic": "humanitarian",
        "summary": "", "follow_up_action": "Send the list of families",
    })  # fmt: skip
    assert response.status_code == 400
    form = response.context["form"]
    assert "summary" in form.errors
    assert "follow_up_owner" in form.errors and "follow_up_due_on" in form.errors
    assert "Send the list of families" in response.content.decode()
    assert not LogEntry.objects.exists()


def test_the_new_entry_form_saves_the_entry_with_the_contact(client, users, world):
    client.force_login(users["liaison_officer"])
    url = reverse("liaison-log-new", args=[world["south"].pk])
    response = client.post(url, {
        "occurred_at": "2026-11-10T10:30", "kind": "phone", "topic": "humanitarian",
        "summary": "Families asking to visit graves.", "initiating_party": world["armenia"].pk,
        "follow_up_action": "Send the list", "follow_up_owner": users["liaison_officer"].pk,
        "follow_up_due_on": "2026-11-12",
    })  # fmt: skip
    assert response.status_code == 302
    entry = LogEntry.objects.get()
    # Typed in the mission's time (Asia/Yerevan, UTC+4).
    assert entry.occurred_at == datetime(2026, 11, 10, 6, 30, tzinfo=UTC)
    assert list(entry.participants.all()) == [world["south"]]
    page = client.get(reverse("liaison-contact", args=[world["south"].pk])).content.decode()
    assert "Families asking to visit graves." in page and "Send the list" in page


@pytest.mark.parametrize("url_name", ["api-liaison-contacts", "api-liaison-log",
                                      "api-liaison-follow-ups"])  # fmt: skip
def test_list_endpoints_cost_a_bounded_number_of_queries(
    url_name, users, world, django_assert_max_num_queries
):
    from liaison.tests.factories import ChannelFactory, ContactFactory

    officer = users["liaison_officer"]
    for _ in range(6):
        contact = ContactFactory(party=world["armenia"], sectors=[world["syunik"]])
        ChannelFactory(contact=contact, kind="hotline")
        services.log_entry_create(
            by=officer, occurred_at=DAY, kind="meeting", topic="ecology", summary="Waste.",
            participants=[contact], mission_staff=[officer],
            follow_ups=[services.FollowUpSpec("Report", officer, date(2026, 11, 30))],
        )  # fmt: skip
    client = APIClient()
    client.force_authenticate(officer)
    with django_assert_max_num_queries(12):
        assert client.get(reverse(url_name)).status_code == 200
    monitor = APIClient()
    monitor.force_authenticate(users["monitor"])
    if url_name == "api-liaison-contacts":
        with django_assert_max_num_queries(12):
            response = monitor.get(reverse(url_name))
        assert len(response.json()["results"]) == 7

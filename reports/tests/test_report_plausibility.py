"""What a report says must be possible: times with their zone inside the mission's years, an
end after the start, counts within the settings' bounds. Each refusal names the field."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from reports.models import IncidentReport
from reports.tests.test_report_filing_api import as_user, report_body

pytestmark = pytest.mark.django_db


def refused(users, **changes):
    response = as_user(users["monitor"]).post(
        reverse("api-incident-reports"), report_body(**changes), format="json"
    )
    assert response.status_code == 400, response.content
    assert not IncidentReport.objects.exists()
    return response.json()["errors"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2026-11-30T10:00:00", "with its offset"),  # no zone: which 10 o'clock?
        ("0001-01-01T00:00:00Z", "between the years"),
        ("1999-12-31T23:00:00+04:00", "between the years"),
        ("9999-12-31T23:59:59-12:00", "between the years"),
        ("yesterday", "Datetime has wrong format"),
    ],
)
def test_an_observation_time_without_zone_or_outside_the_years_is_refused(users, value, reason):
    errors = refused(users, observed_at=value)
    assert list(errors) == ["observed_at"] and reason in errors["observed_at"][0]


def test_an_observation_that_ends_before_it_starts_is_refused(users):
    start = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    for end in (start - timedelta(minutes=10), start):
        errors = refused(users, observed_at=start.isoformat(), observed_until=end.isoformat())
        assert "after its start" in errors["observed_until"][0]


@pytest.mark.parametrize(
    ("field", "setting"),
    [
        ("civilians_killed", "REPORT_MAX_CASUALTIES"),
        ("military_injured", "REPORT_MAX_CASUALTIES"),
        ("explosions", "REPORT_MAX_EVENTS"),
        ("bursts", "REPORT_MAX_EVENTS"),
        ("estimated_distance_m", "REPORT_MAX_DISTANCE_M"),
    ],
)
def test_counts_beyond_the_plausible_are_refused_and_the_bound_is_accepted(users, field, setting):
    bound = getattr(settings, setting)
    errors = refused(users, **{field: bound + 1})
    assert f"less than or equal to {bound}" in errors[field][0]
    errors = refused(users, **{field: 2**40})
    assert field in errors
    accepted = as_user(users["monitor"]).post(
        reverse("api-incident-reports"), report_body(**{field: bound}), format="json"
    )
    assert accepted.status_code == 201, accepted.content

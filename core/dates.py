"""Dates and times a client may send, bounded to the years the mission's records can lie in.

Python's dates end at 0001-01-01 and 9999-12-31: a filter that turns `?date_to=9999-12-31`
into "before the start of the next day", or shifts `0001-01-01T00:00+14:00` to UTC for the
database, overflows (an OverflowError, a 500). Every date or datetime read from a query or a
form goes through one of these fields instead, which refuse a value outside
EARLIEST..LATEST as a field error naming the range. The bounds are far from any real record
(the mission began in 2023) and far enough from Python's limits that a day's start, its
end, or any time zone's offset never leave the representable range.

- forms (pages, django-filter): `BoundedDateField`, `BoundedDateTimeField`,
  `BoundedIsoDateTimeField`;
- django-filter filter sets: `BoundedDateFilter`, `BoundedIsoDateTimeFilter`;
- DRF serializers reading query parameters: `BoundedDateSerializerField`,
  `BoundedDateTimeSerializerField`.

A date that is stored, not only searched for, must also be plausible: within
settings.MISSION_YEARS (`check_mission_years` on a page's form; core.api.fields' own fields
in the API).
"""

from datetime import UTC, date, datetime, time

import django_filters
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_filters.fields import IsoDateTimeField
from rest_framework import serializers

# Wide enough for any record and any query about one, open-ended ones included (clients ask
# for "until 2100-01-01"); narrow enough that no arithmetic on them can overflow.
EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)
RANGE_MESSAGE = f"Give a date between {EARLIEST.isoformat()} and {LATEST.isoformat()}."
# A day's start in the furthest time zone east (UTC+14) is still on EARLIEST - 1 day in UTC,
# and the end of LATEST in UTC-12 on LATEST + 1 day: both well inside Python's range.
_EARLIEST_MOMENT = datetime.combine(EARLIEST, time.min, tzinfo=UTC)
_LATEST_MOMENT = datetime.combine(LATEST, time.max, tzinfo=UTC)


def in_range(value: date | datetime) -> bool:
    """True when the date (or the moment, compared in UTC) lies in EARLIEST..LATEST."""
    if isinstance(value, datetime):
        if timezone.is_naive(value):
            return EARLIEST <= value.date() <= LATEST
        try:
            return _EARLIEST_MOMENT <= value.astimezone(UTC) <= _LATEST_MOMENT
        except OverflowError:  # 0001-01-01T00:00+14:00 has no UTC moment at all
            return False
    return EARLIEST <= value <= LATEST


def check_in_range(value):
    """A Django validator: the field's error, before anything computes with the value."""
    if value is not None and not in_range(value):
        raise ValidationError(RANGE_MESSAGE, code="date_out_of_range")


def check_mission_years(value):
    """A validator for a date or time a page stores: within settings.MISSION_YEARS, as the
    API's fields require (core.api.fields), not merely within what can be computed with."""
    if value is None:
        return
    first, last = settings.MISSION_YEARS
    if not in_range(value) or not first <= value.year <= last:
        raise ValidationError(
            f"The date must lie between the years {first} and {last}.", code="date_out_of_range"
        )


class BoundedDateField(forms.DateField):
    default_validators = [check_in_range]


class _OverflowIsFieldError:
    """Django makes a naive value aware in the current zone; at the very edge of the calendar
    that itself overflows, and is then the same field error."""

    def to_python(self, value):
        try:
            return super().to_python(value)
        except OverflowError as exc:
            raise ValidationError(RANGE_MESSAGE, code="date_out_of_range") from exc


class BoundedDateTimeField(_OverflowIsFieldError, forms.DateTimeField):
    default_validators = [check_in_range]


class BoundedIsoDateTimeField(_OverflowIsFieldError, IsoDateTimeField):
    default_validators = [check_in_range]


class BoundedDateFilter(django_filters.DateFilter):
    field_class = BoundedDateField


class BoundedIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = BoundedIsoDateTimeField


class BoundedDateSerializerField(serializers.DateField):
    default_error_messages = {"date_out_of_range": RANGE_MESSAGE}

    def to_internal_value(self, value):
        value = super().to_internal_value(value)
        if not in_range(value):
            self.fail("date_out_of_range")
        return value


class BoundedDateTimeSerializerField(serializers.DateTimeField):
    default_error_messages = {"date_out_of_range": RANGE_MESSAGE, "overflow": RANGE_MESSAGE}

    def to_internal_value(self, value):
        try:
            value = super().to_internal_value(value)
        except OverflowError:  # 0001-01-01 moved into the server's zone falls before year 1
            self.fail("overflow")
        if not in_range(value):
            self.fail("date_out_of_range")
        return value

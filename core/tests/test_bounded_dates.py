"""One bounded date for every date or time read from a query or a page's form (core.dates):
the bounds themselves, and a walk that finds any filter or form field that is not bounded."""

import importlib
import inspect
from datetime import UTC, date, datetime, timedelta, timezone

import django_filters
import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.urls import URLPattern, URLResolver, get_resolver
from django_filters.rest_framework import DjangoFilterBackend

from core import dates

PLUS_14 = timezone(timedelta(hours=14))
MINUS_12 = timezone(timedelta(hours=-12))


def test_the_bounds_are_inclusive_and_far_from_pythons_limits():
    assert dates.in_range(dates.EARLIEST) and dates.in_range(dates.LATEST)
    assert not dates.in_range(dates.EARLIEST - timedelta(days=1))
    assert not dates.in_range(dates.LATEST + timedelta(days=1))
    # Any day in range has a next day and a previous one, in any zone, as moments in UTC.
    for day in (dates.EARLIEST, dates.LATEST):
        for zone in (PLUS_14, MINUS_12):
            start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
            (start - timedelta(days=1)).astimezone(UTC)
            (start + timedelta(days=2)).astimezone(UTC)


@pytest.mark.parametrize("moment", [
    datetime(1, 1, 1, tzinfo=PLUS_14),  # has no UTC moment at all
    datetime(9999, 12, 31, 23, 59, tzinfo=MINUS_12),  # neither
    datetime(1899, 12, 31, 23, 59, tzinfo=UTC),
    datetime(2200, 1, 1, tzinfo=UTC),
    datetime(2200, 1, 1),  # naive
])  # fmt: skip
def test_a_moment_out_of_range_is_a_field_error_not_an_overflow(moment):
    assert not dates.in_range(moment)
    with pytest.raises(ValidationError) as refused:
        dates.check_in_range(moment)
    assert refused.value.messages == [dates.RANGE_MESSAGE]


@pytest.mark.parametrize("field_class", [dates.BoundedIsoDateTimeField, dates.BoundedDateTimeField])
def test_the_form_fields_refuse_the_calendars_edges(field_class):
    field = field_class(required=False)
    for value in ("9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "0001-01-01T00:00"):
        with pytest.raises(ValidationError) as refused:
            field.clean(value)
        assert refused.value.messages == [dates.RANGE_MESSAGE], value
    assert field.clean("2025-03-14T13:00:00+04:00") == datetime(2025, 3, 14, 9, tzinfo=UTC)


def test_a_stored_date_keeps_to_the_mission_years(settings):
    settings.MISSION_YEARS = (2000, 2028)
    dates.check_mission_years(date(2028, 12, 31))
    for day in (date(1999, 12, 31), date(2029, 1, 1), date(1, 1, 1)):
        with pytest.raises(ValidationError, match="between the years 2000 and 2028"):
            dates.check_mission_years(day)


# --- Every filter and form field of the project ---------------------------------------------

UNBOUNDED_FILTERS = (django_filters.DateFilter, django_filters.DateTimeFilter,
                     django_filters.IsoDateTimeFilter, django_filters.DateFromToRangeFilter,
                     django_filters.DateTimeFromToRangeFilter,
                     django_filters.IsoDateTimeFromToRangeFilter)  # fmt: skip
BOUNDED_FILTERS = (dates.BoundedDateFilter, dates.BoundedIsoDateTimeFilter)
DATE_VALIDATORS = {dates.check_in_range, dates.check_mission_years}


def api_views(resolver=None):
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from api_views(entry)
        elif isinstance(entry, URLPattern) and hasattr(entry.callback, "cls"):
            yield entry.callback.cls


@pytest.mark.django_db
def test_every_date_filter_of_every_api_list_is_bounded():
    checked = 0
    for view_class in set(api_views()):
        view = view_class()
        view.swagger_fake_view = True  # get_queryset answers an empty queryset, no request
        if not (getattr(view, "filterset_class", None) or getattr(view, "filterset_fields", None)):
            continue
        filterset = DjangoFilterBackend().get_filterset_class(view, view.get_queryset())
        for name, filter_ in filterset.base_filters.items():
            if isinstance(filter_, UNBOUNDED_FILTERS):
                assert isinstance(filter_, BOUNDED_FILTERS), f"{view_class.__name__}.{name}"
                checked += 1
    assert checked >= 4  # the reports' date_from, date_to, observed_from, observed_to


def project_forms():
    for module_name in ("core.forms", "patrols.forms", "liaison.forms", "reports.views.incidents",
                        "reports.summaries.views", "liaison.views", "patrols.views"):  # fmt: skip
        module = importlib.import_module(module_name)
        for _, form in inspect.getmembers(module, inspect.isclass):
            if issubclass(form, forms.BaseForm) and form.__module__ == module_name:
                yield form


def test_every_date_field_of_every_page_form_is_bounded():
    checked = []
    for form in project_forms():
        for name, field in form.base_fields.items():
            if isinstance(field, forms.DateField | forms.DateTimeField):
                assert DATE_VALIDATORS & set(field.validators), f"{form.__name__}.{name}"
                checked.append(f"{form.__name__}.{name}")
    assert {"SummarySearchForm.date_from", "LogEntryForm.occurred_at",
            "PlanForm.planned_departure"} <= set(checked)  # fmt: skip

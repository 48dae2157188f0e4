"""The filters shared by the report list, its GeoJSON and CSV, the map's clusters and the
duty officers' pages: one definition, so a page and its export always agree.

A bad value is a form error naming the parameter (`bbox`, `date_from`, ...): the API answers
it as a 400 in our error format, a page shows it next to the field. Dates are bounded
(core.dates): `?date_to=9999-12-31` is such an error, not an overflow.
"""

from datetime import datetime, time, timedelta

import django_filters
from django import forms
from django.conf import settings
from django.contrib.gis.geos import Polygon
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from core.dates import BoundedDateFilter, BoundedIsoDateTimeFilter
from reports.models import IncidentReport


class BBoxField(forms.CharField):
    """`min_lon,min_lat,max_lon,max_lat` in WGS84 → a Polygon."""

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        try:
            west, south, east, north = (float(v) for v in value.split(","))
        except ValueError as exc:
            raise forms.ValidationError(
                "Give four numbers: min_lon,min_lat,max_lon,max_lat."
            ) from exc
        if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
            raise forms.ValidationError(
                "West must be less than east and south less than north, in degrees."
            )
        return Polygon.from_bbox((west, south, east, north))


@extend_schema_field(OpenApiTypes.STR)
class BBoxFilter(django_filters.Filter):
    field_class = BBoxField

    def filter(self, qs, value):
        if value is None:
            return qs
        # Indexed spatial filter (GiST on PostGIS): the map asks only for what it shows.
        return qs.filter(location__intersects=value)


def _mission_day_start(day):
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


class IncidentReportFilter(django_filters.FilterSet):
    observed_from = BoundedIsoDateTimeFilter(field_name="observed_at", lookup_expr="gte")
    observed_to = BoundedIsoDateTimeFilter(field_name="observed_at", lookup_expr="lt")
    date_from = BoundedDateFilter(
        method="on_or_after", label="From",
        help_text=f"First day, inclusive, in {settings.TIME_ZONE} time.",
    )  # fmt: skip
    date_to = BoundedDateFilter(
        method="on_or_before", label="To",
        help_text=f"Last day, inclusive, in {settings.TIME_ZONE} time.",
    )  # fmt: skip
    severity_min = django_filters.NumberFilter(
        field_name="severity", lookup_expr="gte", label="Severity at least"
    )
    sector = django_filters.CharFilter(
        field_name="sector__name", lookup_expr="iexact", help_text="The sector (border province)."
    )
    bbox = BBoxFilter(help_text="min_lon,min_lat,max_lon,max_lat")
    mine = django_filters.BooleanFilter(
        method="filed_by_me", help_text="true: only the caller's own reports (the tablet's)."
    )

    class Meta:
        model = IncidentReport
        fields = ["status", "category", "severity", "verification", "patrol", "event"]

    def on_or_after(self, queryset, name, value):
        return queryset.filter(observed_at__gte=_mission_day_start(value))

    def on_or_before(self, queryset, name, value):
        return queryset.filter(observed_at__lt=_mission_day_start(value + timedelta(days=1)))

    def is_valid(self):
        valid = super().is_valid()
        data = self.form.cleaned_data if valid else {}
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.form.add_error("date_to", "The last day comes before the first.")
            return False
        return valid

    def filed_by_me(self, queryset, name, value):
        return queryset.filter(author=self.request.user) if value else queryset

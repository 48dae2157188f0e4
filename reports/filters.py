"""The filters shared by the report list, its GeoJSON and its CSV export (and the map)."""

import django_filters
from django.contrib.gis.geos import Polygon
from rest_framework.exceptions import ValidationError

from reports.models import IncidentReport


class IncidentReportFilter(django_filters.FilterSet):
    observed_from = django_filters.IsoDateTimeFilter(field_name="observed_at", lookup_expr="gte")
    observed_to = django_filters.IsoDateTimeFilter(field_name="observed_at", lookup_expr="lt")
    severity_min = django_filters.NumberFilter(field_name="severity", lookup_expr="gte")
    sector = django_filters.CharFilter(field_name="sector__name", lookup_expr="iexact")
    bbox = django_filters.CharFilter(method="in_bbox", help_text="min_lon,min_lat,max_lon,max_lat")
    mine = django_filters.BooleanFilter(
        method="filed_by_me", help_text="true: only the caller's own reports (the tablet's)."
    )

    class Meta:
        model = IncidentReport
        fields = ["status", "category", "severity", "verification", "patrol", "event"]

    def filed_by_me(self, queryset, name, value):
        return queryset.filter(author=self.request.user) if value else queryset

    def in_bbox(self, queryset, name, value):
        try:
            west, south, east, north = (float(v) for v in value.split(","))
        except ValueError as exc:
            raise ValidationError(
                {"bbox": ["Give four numbers: min_lon,min_lat,max_lon,max_lat."]}
            ) from exc
        # Indexed spatial filter: the map asks only for what it shows.
        return queryset.filter(location__intersects=Polygon.from_bbox((west, south, east, north)))

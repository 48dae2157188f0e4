"""The incident list in other shapes: GeoJSON features, a CSV export, and the map's
clusters computed on the server."""

import csv
import io

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from core.api.pagination import GeoJsonPagination
from core.csv import spreadsheet_safe
from reports import maps
from reports.apis.incidents import IncidentReportListApi
from reports.models import IncidentReport


class IncidentReportFeature(GeoFeatureModelSerializer):
    sector = serializers.CharField(source="sector.name")

    class Meta:
        model = IncidentReport
        ref_name = "IncidentReportFeature"
        geo_field = "location"
        id_field = "uuid"
        fields = ["uuid", "reference", "observed_at", "category", "severity", "status",
                  "verification", "location_phrase", "sector", "across_line"]  # fmt: skip


class IncidentReportGeoJsonApi(IncidentReportListApi):
    """The same list as GeoJSON features (filter with ?bbox= for the map)."""

    serializer_class = IncidentReportFeature
    pagination_class = GeoJsonPagination


CSV_COLUMNS = [
    ("uuid", lambda r: r.uuid), ("reference", lambda r: r.reference),
    ("event_date", lambda r: r.observed_at.date().isoformat()),
    ("observed_at", lambda r: r.observed_at.isoformat()), ("category", lambda r: r.category),
    ("event_type", lambda r: r.acled_event_type),
    ("sub_event_type", lambda r: r.acled_sub_event_type),
    ("severity", lambda r: r.severity),
    # ACLED's place columns say where the incident was: across the line, the other side
    # (admin1 unknown to the mission); `sector` is the mission's sector that saw it.
    ("country", lambda r: "Azerbaijan" if r.across_line else "Armenia"),
    ("admin1", lambda r: "" if r.across_line else r.sector.name),
    ("sector", lambda r: r.sector.name),
    ("across_line", lambda r: "yes" if r.across_line else "no"),
    ("location", lambda r: r.location_phrase), ("latitude", lambda r: round(r.location.y, 5)),
    ("longitude", lambda r: round(r.location.x, 5)), ("status", lambda r: r.status),
    ("verification", lambda r: r.verification),
    ("casualties", lambda r: r.casualties), ("notes", lambda r: r.description),
]  # fmt: skip


class IncidentReportCsvApi(IncidentReportListApi):
    """The same list as CSV (all matching rows, streamed)."""

    @extend_schema(filters=True, responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset()).order_by("observed_at")

        def rows():
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow([name for name, _ in CSV_COLUMNS])
            for report in queryset.iterator(chunk_size=2000):
                writer.writerow([spreadsheet_safe(value(report)) for _, value in CSV_COLUMNS])
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
            yield buffer.getvalue()

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="incident-reports.csv"'
        return response


# --- The incident map -------------------------------------------------------------------------


class MapInput(serializers.Serializer):
    zoom = serializers.IntegerField(min_value=0, max_value=20)
    bbox = serializers.CharField(help_text="min_lon,min_lat,max_lon,max_lat (required)")

    class Meta:
        ref_name = "IncidentMapInput"


class IncidentMapApi(IncidentReportListApi):
    """The incidents in view, clustered on the server for the duty officers' map.

    Needs `bbox` and `zoom` (and takes every filter of the list). Incidents are grouped on a
    grid of about 64 screen pixels at that zoom: a cell of several incidents comes as one
    feature with `cluster: true`, its `count`, highest severity and extent (`bbox`); a cell
    of one incident comes as that incident. The answer's size follows the screen, not the
    number of incidents.
    """

    pagination_class = None

    @extend_schema(
        filters=True,
        parameters=[MapInput],
        responses={(200, "application/geo+json"): OpenApiTypes.OBJECT},
    )
    def get(self, request, *args, **kwargs):
        params = MapInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        zoom = params.validated_data["zoom"]
        queryset = self.filter_queryset(self.get_queryset())
        # The filter has checked the bbox; here only its size against the zoom.
        west, south, east, north = (float(v) for v in params.validated_data["bbox"].split(","))
        width, height = maps.cluster_cell_size(zoom)
        limit = maps.MAX_CELLS_ACROSS
        if (east - west) / width > limit or (north - south) / height > limit:
            raise serializers.ValidationError(
                {"bbox": [f"Too large an area for zoom {zoom}: zoom out, or ask for a "
                          f"smaller area (at most {limit} cells of the grid across)."]}
            )  # fmt: skip
        features = maps.incident_map_features(queryset=queryset, zoom=zoom)
        return Response(features, content_type="application/geo+json")

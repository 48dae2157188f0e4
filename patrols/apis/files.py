"""The notified itinerary as a file (GPX or PDF), current version or `?version=`: the
documents every party received, rendered again from the frozen version."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.views import APIView

from patrols.apis.shared import plan_or_404
from patrols.documents.gpx import itinerary_gpx
from patrols.documents.pdf import itinerary_pdf


class ItineraryFileInput(serializers.Serializer):
    version = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1)

    class Meta:
        ref_name = "ItineraryFileInput"


class ItineraryFileApi(APIView):
    kind = "gpx"

    def get(self, request, pk):
        plan = plan_or_404(request, pk)
        params = ItineraryFileInput(data=request.query_params)
        params.is_valid(raise_exception=True)  # `?version=abc` is a 400 naming `version`
        number = params.validated_data.get("version") or plan.version
        version = get_object_or_404(plan.versions, number=number)
        stem = f"itinerary-{plan.forward_base.name.lower()}-{plan.planned_departure:%Y-%m-%d}"
        if self.kind == "gpx":
            response = HttpResponse(itinerary_gpx(version), content_type="application/gpx+xml")
        else:
            response = HttpResponse(itinerary_pdf(version), content_type="application/pdf")
        response["Content-Disposition"] = (
            f'attachment; filename="{stem}-v{version.number}.{self.kind}"'
        )
        return response


def _itinerary_file_schema(media_type):
    return extend_schema_view(
        get=extend_schema(
            parameters=[OpenApiParameter("version", int, required=False,
                                         description="Default: the current version.")],
            responses={(200, media_type): OpenApiTypes.BINARY},
        )
    )  # fmt: skip


@_itinerary_file_schema("application/gpx+xml")
class ItineraryGpxApi(ItineraryFileApi):
    """The notified itinerary (current version, or ?version=) as GPX."""

    kind = "gpx"


@_itinerary_file_schema("application/pdf")
class ItineraryPdfApi(ItineraryFileApi):
    """The notified itinerary (current version, or ?version=) as PDF."""

    kind = "pdf"

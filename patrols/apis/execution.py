"""The patrol on its way: the team leader's tablet uploads the GPS track; the patrol lists
and records the movement restrictions it met."""

from django.contrib.gis.geos import Point
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.fields import LatitudeField, LongitudeField, PointField, ZonedDateTimeField
from patrols.apis.shared import plan_or_404
from patrols.models import MovementRestriction
from patrols.services import execution


class TrackPointInput(serializers.Serializer):
    uuid = serializers.UUIDField()
    recorded_at = ZonedDateTimeField()
    lat = LatitudeField()
    lon = LongitudeField()

    class Meta:
        ref_name = "TrackPointInput"


class TrackInput(serializers.Serializer):
    points = TrackPointInput(many=True, allow_empty=False, max_length=5000)

    class Meta:
        ref_name = "TrackInput"


class TrackOutput(serializers.Serializer):
    stored = serializers.IntegerField()
    already_stored = serializers.IntegerField()
    max_deviation_km = serializers.FloatField(allow_null=True)
    deviation_flagged = serializers.BooleanField()
    threshold_km = serializers.FloatField()

    class Meta:
        ref_name = "TrackOutput"


class PatrolTrackApi(APIView):
    @extend_schema(request=TrackInput, responses=TrackOutput)
    def post(self, request, pk):
        """Team leader's tablet: upload GPS fixes; resending the same UUIDs stores nothing."""
        plan = plan_or_404(request, pk)
        execution.require_track_uploader(plan, request.user)
        data = TrackInput(data=request.data)
        data.is_valid(raise_exception=True)
        fixes = [
            execution.TrackFix(p["uuid"], p["recorded_at"], Point(p["lon"], p["lat"], srid=4326))
            for p in data.validated_data["points"]
        ]
        result = execution.track_upload(plan=plan, by=request.user, fixes=fixes)
        return Response(TrackOutput(result).data)


class RestrictionSerializer(serializers.ModelSerializer):
    location = PointField()
    # As every time the API takes: with its offset, within the mission's years.
    occurred_at = ZonedDateTimeField()
    # A week-long closure is the most a patrol can report as one restriction.
    duration_minutes = serializers.IntegerField(
        min_value=0, max_value=7 * 24 * 60, required=False, allow_null=True
    )
    recorded_by = serializers.CharField(source="recorded_by.username", read_only=True)

    class Meta:
        model = MovementRestriction
        ref_name = "MovementRestriction"
        fields = [
            "id", "category", "actor", "occurred_at", "duration_minutes", "location",
            "location_phrase", "reason_given", "turned_back", "description", "recorded_by",
        ]  # fmt: skip
        read_only_fields = ["id", "location_phrase", "recorded_by"]


class PatrolRestrictionsApi(generics.ListAPIView):
    """Movement restrictions met by the patrol (denial, conditional access, delay, other)."""

    serializer_class = RestrictionSerializer
    pagination_class = None
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return MovementRestriction.objects.none()
        plan = plan_or_404(self.request, self.kwargs["pk"])
        return plan.restrictions.select_related("recorded_by")

    @extend_schema(request=RestrictionSerializer, responses={201: RestrictionSerializer})
    def post(self, request, pk):
        plan = plan_or_404(request, pk)
        execution.require_on_patrol(plan, request.user)
        data = RestrictionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        restriction = execution.movement_restriction_record(
            plan=plan, by=request.user, **data.validated_data
        )
        return Response(RestrictionSerializer(restriction).data, status=status.HTTP_201_CREATED)

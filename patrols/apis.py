"""Patrol API: one view per operation; views authenticate, validate and call one service."""

from django.contrib.gis.geos import Point
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_gis.fields import GeometryField

from core.api.fields import (
    LatitudeField,
    LineStringField,
    LongitudeField,
    PointField,
    ZonedDateTimeField,
)
from core.models import ForwardBase, User
from core.roles import Role, has_role
from patrols import selectors, services
from patrols.documents import itinerary_gpx, itinerary_pdf
from patrols.forms import members
from patrols.models import ItineraryNotification, MovementRestriction, PatrolPlan
from patrols.services import execution, notifications
from patrols.services.safety import itinerary_check

# --- Output ---------------------------------------------------------------------------------


class NotificationOutput(serializers.ModelSerializer):
    party = serializers.CharField(source="party.name")
    party_code = serializers.CharField(source="party.code")
    version = serializers.IntegerField(source="version.number")

    class Meta:
        model = ItineraryNotification
        ref_name = "ItineraryNotification"
        fields = [
            "id", "version", "purpose", "party", "party_code", "status", "attempts",
            "last_error", "sent_at", "acknowledged_at", "ack_method", "ack_note",
            "objection", "escalated_at",
        ]  # fmt: skip


class PlanOutput(serializers.ModelSerializer):
    forward_base = serializers.CharField(source="forward_base.name")
    team_leader = serializers.CharField(source="team_leader.username")
    author = serializers.CharField(source="author.username", allow_null=True)
    route = GeometryField(allow_null=True)
    sectors = serializers.SerializerMethodField()
    vehicles = serializers.SerializerMethodField()
    waypoints = serializers.SerializerMethodField()
    notifications = serializers.SerializerMethodField()
    deviation_flagged = serializers.BooleanField(source="flagged_deviation")

    class Meta:
        model = PatrolPlan
        ref_name = "PatrolPlan"
        fields = [
            "id", "status", "status_reason", "forward_base", "team_leader", "author", "purpose",
            "escort", "escort_unit", "planned_departure", "planned_return", "route", "sectors",
            "vehicles", "waypoints", "version", "urgent_override", "override_justification",
            "started_at", "ended_at", "max_deviation_km", "deviation_flagged", "notifications",
        ]  # fmt: skip

    def get_sectors(self, plan) -> list[str]:
        return [s.name for s in plan.sectors.all()]

    def get_vehicles(self, plan) -> list[dict]:
        return [{"call_sign": v.call_sign, "plate": v.plate} for v in plan.vehicles.all()]

    def get_waypoints(self, plan) -> list[dict]:
        return [
            {"position": w.position, "name": w.name, "lat": w.location.y, "lon": w.location.x,
             "planned_time": w.planned_time}
            for w in plan.waypoints.all()
        ]  # fmt: skip

    def get_notifications(self, plan) -> list[dict]:
        """The notifications of the version the parties hold now, per party."""
        rows = [n for v in plan.versions.all() if v.number == plan.version
                for n in v.notifications.all()]  # fmt: skip
        return NotificationOutput(rows, many=True).data


def plans_for(user):
    return selectors.patrol_plan_list(user=user)


# --- Input ----------------------------------------------------------------------------------


class WaypointInput(serializers.Serializer):
    name = serializers.CharField(max_length=128)
    lat = LatitudeField()
    lon = LongitudeField()
    planned_time = ZonedDateTimeField(required=False, allow_null=True)

    class Meta:
        ref_name = "WaypointInput"


class VehicleInput(serializers.Serializer):
    call_sign = serializers.CharField(max_length=32)
    plate = serializers.CharField(max_length=32)

    class Meta:
        ref_name = "VehicleInput"


class PlanInput(serializers.Serializer):
    forward_base = serializers.PrimaryKeyRelatedField(queryset=ForwardBase.objects.all())
    team_leader = serializers.SlugRelatedField(slug_field="username", queryset=User.objects.all())
    monitors = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.all(), many=True, required=False
    )
    purpose = serializers.CharField(max_length=255)
    planned_departure = ZonedDateTimeField()
    planned_return = ZonedDateTimeField()
    escort = serializers.BooleanField(required=False, default=False)
    escort_unit = serializers.CharField(max_length=128, required=False, allow_blank=True)
    route = LineStringField(required=False, allow_null=True)
    waypoints = WaypointInput(many=True, required=False)
    vehicles = VehicleInput(many=True, required=False)

    class Meta:
        ref_name = "PatrolPlanInput"

    def to_service(self, data):
        out = dict(data)
        if "waypoints" in out:
            out["waypoints"] = [
                services.WaypointSpec(w["name"], Point(w["lon"], w["lat"], srid=4326),
                                      w.get("planned_time"))
                for w in out["waypoints"]
            ]  # fmt: skip
        if "vehicles" in out:
            out["vehicles"] = [services.VehicleSpec(**v) for v in out["vehicles"]]
        return out


def _plan(request, pk):
    return get_object_or_404(plans_for(request.user), pk=pk)


def _check_base_and_crew(request, data, base):
    """A team leader plans for their own forward base only (403: a refusal of the person);
    the team leader and monitors named are that base's, as the plan form offers (400)."""
    if base.pk != request.user.forward_base_id and not has_role(request.user, Role.COORDINATOR):
        raise PermissionDenied(
            f"forward_base: you plan for your own forward base, not for {base.name}."
        )
    errors = {}
    if "team_leader" in data and data["team_leader"] not in members(base, Role.TEAM_LEADER):
        errors["team_leader"] = [f"{data['team_leader']} is not a team leader of {base.name}."]
    strangers = set(data.get("monitors", [])) - set(members(base, Role.MONITOR))
    if strangers:
        names = ", ".join(sorted(u.get_username() for u in strangers))
        errors["monitors"] = [f"Not monitors of {base.name}: {names}."]
    if errors:
        raise serializers.ValidationError(errors)


def _ok(plan, status_code=status.HTTP_200_OK, request=None):
    plan = plans_for(request.user).get(pk=plan.pk)
    return Response(PlanOutput(plan).data, status=status_code)


# --- Plans ----------------------------------------------------------------------------------


class PatrolPlanListApi(generics.ListAPIView):
    """Patrol plans the caller may see; team leaders create plans here."""

    serializer_class = PlanOutput
    filterset_fields = ["status", "forward_base"]
    ordering_fields = ["planned_departure"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return PatrolPlan.objects.none()
        return plans_for(self.request.user).order_by("planned_departure")

    @extend_schema(request=PlanInput, responses={201: PlanOutput})
    def post(self, request):
        # The role, not the table permission: a superuser passes every has_perm.
        if not selectors.patrol_plan_can_create(request.user):
            raise PermissionDenied("Only a team leader with a forward base plans patrols.")
        data = PlanInput(data=request.data)
        data.is_valid(raise_exception=True)
        _check_base_and_crew(request, data.validated_data, data.validated_data["forward_base"])
        plan = services.patrol_plan_create(author=request.user,
                                           **data.to_service(data.validated_data))  # fmt: skip
        return _ok(plan, status.HTTP_201_CREATED, request)


class PatrolPlanDetailApi(APIView):
    @extend_schema(responses=PlanOutput)
    def get(self, request, pk):
        return _ok(_plan(request, pk), request=request)

    @extend_schema(request=PlanInput, responses=PlanOutput)
    def patch(self, request, pk):
        """Edit a draft or returned plan."""
        plan = _plan(request, pk)
        services.require_planner(plan, request.user)
        data = PlanInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        _check_base_and_crew(request, fields, fields.get("forward_base", plan.forward_base))
        plan = services.patrol_plan_update(plan=plan, by=request.user,
                                           **data.to_service(data.validated_data))  # fmt: skip
        return _ok(plan, request=request)


class PatrolPlanAmendApi(APIView):
    @extend_schema(request=PlanInput, responses=PlanOutput)
    def post(self, request, pk):
        """Amend an approved or notified itinerary (a new version after approval)."""
        plan = _plan(request, pk)
        services.require_planner(plan, request.user)
        data = PlanInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        _check_base_and_crew(request, fields, fields.get("forward_base", plan.forward_base))
        plan = services.patrol_plan_amend(plan=plan, by=request.user,
                                          **data.to_service(data.validated_data))  # fmt: skip
        return _ok(plan, request=request)


class FindingOutput(serializers.Serializer):
    code = serializers.CharField()
    severity = serializers.ChoiceField(choices=["blocking", "override", "warning"])
    message = serializers.CharField()
    geometry = serializers.JSONField(allow_null=True)

    class Meta:
        ref_name = "SafetyFinding"


class PatrolPlanChecksApi(APIView):
    @extend_schema(responses=FindingOutput(many=True))
    def get(self, request, pk):
        """The safety checks of the itinerary as they stand now."""
        findings = itinerary_check(_plan(request, pk))
        return Response(FindingOutput([f.as_dict() for f in findings], many=True).data)


class PatrolPlanSubmitApi(APIView):
    @extend_schema(request=None, responses=FindingOutput(many=True))
    def post(self, request, pk):
        findings = services.patrol_plan_submit(plan=_plan(request, pk), by=request.user)
        return Response(FindingOutput([f.as_dict() for f in findings], many=True).data)


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField()

    class Meta:
        ref_name = "ReasonInput"


def _coordinator(request, pk):
    """The plan a coordinator decides on: the role is asked before the plan is looked up."""
    if not has_role(request.user, Role.COORDINATOR):
        raise PermissionDenied("Only a coordinator can approve or return a patrol plan.")
    plan = _plan(request, pk)
    services.require_coordinator(plan, request.user)  # four eyes
    return plan


def _reason_action(service, check):
    """A POST taking a reason: who may is asked (`check`) before the reason is read."""

    class Api(APIView):
        @extend_schema(request=ReasonInput, responses=PlanOutput)
        def post(self, request, pk):
            plan = check(request, pk)
            data = ReasonInput(data=request.data)
            data.is_valid(raise_exception=True)
            plan = service(plan=plan, by=request.user, **data.validated_data)
            return _ok(plan, request=request)

    return Api


def _checked(predicate):
    def check(request, pk):
        plan = _plan(request, pk)
        predicate(plan, request.user)
        return plan

    return check


def _plain_action(service):
    class Api(APIView):
        @extend_schema(request=None, responses=PlanOutput)
        def post(self, request, pk):
            return _ok(service(plan=_plan(request, pk), by=request.user), request=request)

    return Api


class PatrolPlanReturnApi(_reason_action(services.patrol_plan_return, _coordinator)):
    """Coordinator: return the plan to its author with a reason."""


class PatrolPlanCancelApi(
    _reason_action(services.patrol_plan_cancel, _checked(services.require_planner))
):
    """Cancel the patrol; every party told of it is told of the cancellation."""


class PatrolAbortApi(_reason_action(services.patrol_abort, _checked(services.require_team_leader))):
    """Team leader: the patrol turned back before completing its itinerary."""


class PatrolStartApi(_plain_action(services.patrol_start)):
    """Team leader: the patrol leaves (only once every party has the itinerary)."""


class PatrolCompleteApi(_plain_action(services.patrol_complete)):
    """Team leader: the patrol is back."""


class ApproveInput(serializers.Serializer):
    accept_warnings = serializers.ListField(child=serializers.CharField(), required=False)
    urgent_justification = serializers.CharField(required=False, allow_blank=True)

    class Meta:
        ref_name = "ApproveInput"


class PatrolPlanApproveApi(APIView):
    @extend_schema(request=ApproveInput, responses=PlanOutput)
    def post(self, request, pk):
        """Coordinator: approve; every party's notification is queued in the same step."""
        plan = _coordinator(request, pk)
        data = ApproveInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.patrol_plan_approve(plan=plan, by=request.user, **data.validated_data)
        return _ok(plan, request=request)


class ItineraryFileInput(serializers.Serializer):
    version = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1)

    class Meta:
        ref_name = "ItineraryFileInput"


class ItineraryFileApi(APIView):
    kind = "gpx"

    def get(self, request, pk):
        plan = _plan(request, pk)
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


# --- Execution ------------------------------------------------------------------------------


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
        plan = _plan(request, pk)
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
        plan = _plan(self.request, self.kwargs["pk"])
        return plan.restrictions.select_related("recorded_by")

    @extend_schema(request=RestrictionSerializer, responses={201: RestrictionSerializer})
    def post(self, request, pk):
        plan = _plan(request, pk)
        execution.require_on_patrol(plan, request.user)
        data = RestrictionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        restriction = execution.movement_restriction_record(
            plan=plan, by=request.user, **data.validated_data
        )
        return Response(RestrictionSerializer(restriction).data, status=status.HTTP_201_CREATED)


# --- Notifications ----------------------------------------------------------------------------


def notifications_for(user):
    if not has_role(user, Role.COORDINATOR, Role.LIAISON_OFFICER, Role.DUTY_OFFICER,
                    Role.HEADQUARTERS, Role.ADMINISTRATOR):  # fmt: skip
        raise PermissionDenied("Your role does not follow itinerary notifications.")
    return ItineraryNotification.objects.select_related("party", "version")


def _recorded_notification(request, pk):
    """A notification a liaison officer or coordinator records on: who may is asked before
    the body is read."""
    rows = notifications_for(request.user)
    notifications.require_liaison(request.user)
    return get_object_or_404(rows, pk=pk)


class NotificationListApi(generics.ListAPIView):
    """Itinerary notifications per party (filter: status, party, escalated, plan)."""

    serializer_class = NotificationOutput
    filterset_fields = {
        "status": ["exact"],
        "party__code": ["exact"],
        "version__plan": ["exact"],
        "escalated_at": ["isnull"],
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ItineraryNotification.objects.none()
        return notifications_for(self.request.user).order_by("-queued_at")


class AcknowledgeInput(serializers.Serializer):
    method = serializers.ChoiceField(
        choices=[c for c in ItineraryNotification.AckMethod.choices if c[0] != "link"]
    )
    note = serializers.CharField()
    at = ZonedDateTimeField(required=False)

    class Meta:
        ref_name = "AcknowledgeInput"


class NotificationAcknowledgeApi(APIView):
    @extend_schema(request=AcknowledgeInput, responses=NotificationOutput)
    def post(self, request, pk):
        """Liaison officer: record an acknowledgement received by phone, hotline or in person."""
        row = _recorded_notification(request, pk)
        data = AcknowledgeInput(data=request.data)
        data.is_valid(raise_exception=True)
        row = notifications.notification_acknowledge_manually(
            notification=row, by=request.user, **data.validated_data
        )
        return Response(NotificationOutput(row).data)


class ObjectionInput(serializers.Serializer):
    text = serializers.CharField()

    class Meta:
        ref_name = "ObjectionInput"


class NotificationObjectionApi(APIView):
    @extend_schema(request=ObjectionInput, responses=NotificationOutput)
    def post(self, request, pk):
        """Liaison officer: record a party's objection to the itinerary, in its words."""
        row = _recorded_notification(request, pk)
        data = ObjectionInput(data=request.data)
        data.is_valid(raise_exception=True)
        row = notifications.notification_record_objection(
            notification=row, by=request.user, **data.validated_data
        )
        return Response(NotificationOutput(row).data)


class NotificationRetryApi(APIView):
    @extend_schema(request=None, responses=NotificationOutput)
    def post(self, request, pk):
        """Coordinator: queue a failed notification again."""
        if not has_role(request.user, Role.COORDINATOR):
            raise PermissionDenied("Only a coordinator retries a notification.")
        row = get_object_or_404(notifications_for(request.user), pk=pk)
        return Response(NotificationOutput(
            notifications.notification_retry(notification=row, by=request.user)).data)  # fmt: skip

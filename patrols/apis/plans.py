"""Patrol plan API: list and create, read, edit and amend, the safety checks, and the
lifecycle (submit, return, approve, cancel, start, complete, abort). One view per operation:
who may act is asked (patrols.selectors, the services' own checks) before a body is read,
then the body is validated and one service called."""

from django.contrib.gis.geos import Point
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.fields import LatitudeField, LineStringField, LongitudeField, ZonedDateTimeField
from core.models import ForwardBase, User
from core.roles import Role
from patrols import selectors, services
from patrols.apis.shared import PlanOutput, plan_or_404, plan_response, plans_for
from patrols.forms import members
from patrols.models import PatrolPlan
from patrols.services.safety import itinerary_check

# --- Input ----------------------------------------------------------------------------------


# An item of a list in the body is always whole, in a PATCH or an amendment too: DRF's
# `partial` reaches the items of nested serializers and would let them lack a field. (A
# comment, not a docstring: the schema would show it as each item's description.)
class WholeItem(serializers.Serializer):
    def validate(self, attrs):
        missing = [name for name, field in self.fields.items()
                   if field.required and name not in attrs]  # fmt: skip
        if missing:
            raise serializers.ValidationError({name: ["This field is required."]
                                               for name in missing})  # fmt: skip
        return attrs


class WaypointInput(WholeItem):
    name = serializers.CharField(max_length=128)
    lat = LatitudeField()
    lon = LongitudeField()
    planned_time = ZonedDateTimeField(required=False, allow_null=True)

    class Meta:
        ref_name = "WaypointInput"


class VehicleInput(WholeItem):
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


def _check_base_and_crew(request, data, base):
    """A team leader plans for their own forward base only (403: a refusal of the person);
    the team leader and monitors named are that base's, as the plan form offers (400)."""
    if not selectors.can_plan_for_base(request.user, base):
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
        return plan_response(plan, status.HTTP_201_CREATED, request)


class PatrolPlanDetailApi(APIView):
    @extend_schema(responses=PlanOutput)
    def get(self, request, pk):
        return plan_response(plan_or_404(request, pk), request=request)

    @extend_schema(request=PlanInput, responses=PlanOutput)
    def patch(self, request, pk):
        """Edit a draft or returned plan."""
        return _edit(request, pk, services.patrol_plan_update)


class PatrolPlanAmendApi(APIView):
    @extend_schema(request=PlanInput, responses=PlanOutput)
    def post(self, request, pk):
        """Amend an approved or notified itinerary (a new version after approval)."""
        return _edit(request, pk, services.patrol_plan_amend)


def _edit(request, pk, service):
    """A partial plan body for `service` (edit in place, or amend into a new version): the
    planner is asked before the body is read, the base and crew checked as on create."""
    plan = plan_or_404(request, pk)
    services.require_planner(plan, request.user)
    data = PlanInput(data=request.data, partial=True)
    data.is_valid(raise_exception=True)
    fields = data.validated_data
    _check_base_and_crew(request, fields, fields.get("forward_base", plan.forward_base))
    plan = service(plan=plan, by=request.user, **data.to_service(fields))
    return plan_response(plan, request=request)


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
        findings = itinerary_check(plan_or_404(request, pk))
        return Response(FindingOutput([f.as_dict() for f in findings], many=True).data)


class PatrolPlanSubmitApi(APIView):
    @extend_schema(request=None, responses=FindingOutput(many=True))
    def post(self, request, pk):
        findings = services.patrol_plan_submit(plan=plan_or_404(request, pk), by=request.user)
        return Response(FindingOutput([f.as_dict() for f in findings], many=True).data)


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField()

    class Meta:
        ref_name = "ReasonInput"


def _coordinator(request, pk):
    """The plan a coordinator decides on: the role is asked before the plan is looked up."""
    if not selectors.can_approve(request.user):
        raise PermissionDenied("Only a coordinator can approve or return a patrol plan.")
    plan = plan_or_404(request, pk)
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
            return plan_response(plan, request=request)

    return Api


def _checked(predicate):
    def check(request, pk):
        plan = plan_or_404(request, pk)
        predicate(plan, request.user)
        return plan

    return check


def _plain_action(service):
    class Api(APIView):
        @extend_schema(request=None, responses=PlanOutput)
        def post(self, request, pk):
            return plan_response(
                service(plan=plan_or_404(request, pk), by=request.user), request=request
            )

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
        return plan_response(plan, request=request)

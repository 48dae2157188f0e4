"""What the patrol API's modules share: the plan and notification as the API shows them, and
the plan a caller may address (404 for one they may not see)."""

from django.shortcuts import get_object_or_404
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework_gis.fields import GeometryField

from patrols import selectors
from patrols.models import ItineraryNotification, PatrolPlan


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


def plan_or_404(request, pk):
    return get_object_or_404(plans_for(request.user), pk=pk)


def plan_response(plan, status_code=status.HTTP_200_OK, request=None):
    plan = plans_for(request.user).get(pk=plan.pk)
    return Response(PlanOutput(plan).data, status=status_code)

"""Admin for patrol plans: an operator's view of the plans, with the itinerary on the map.

Plans are made through patrols.services (which check the itinerary); the admin corrects
them. Status changes (approval, notification, execution) belong to the patrol services,
so the status is shown here but not edited.
"""

from django.contrib import admin

from core.admin import TIME_ZONE_NOTE, MissionMapAdmin, ReadOnlyAdminMixin, local_time_column
from patrols import selectors
from patrols.models import (
    ItineraryNotification,
    MovementRestriction,
    PatrolPlan,
)


@admin.register(PatrolPlan)
class PatrolPlanAdmin(MissionMapAdmin):
    list_display = [
        "purpose",
        "forward_base",
        "team_leader",
        "status",
        local_time_column("planned_departure", "departure"),
        local_time_column("planned_return", "return"),
        "sector_names",
    ]
    list_filter = ["status", "forward_base", "sectors", "planned_departure"]
    search_fields = [
        "purpose",
        "forward_base__name",
        "team_leader__username",
        "team_leader__first_name",
        "team_leader__last_name",
    ]
    list_select_related = ["forward_base", "team_leader"]
    date_hierarchy = "planned_departure"
    readonly_fields = [
        "purpose", "forward_base", "team_leader", "status", "status_reason", "planned_departure",
        "planned_return", "sectors", "version", "urgent_override", "override_justification",
        "created_at",
    ]  # fmt: skip
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "purpose",
                    "forward_base",
                    "team_leader",
                    "status",
                    "status_reason",
                    "version",
                    "urgent_override",
                    "override_justification",
                ]
            },
        ),
        (
            "When",
            {
                "fields": ["planned_departure", "planned_return"],
                "description": TIME_ZONE_NOTE,
            },
        ),
        (
            "Itinerary",
            {
                "fields": ["route", "sectors"],
                "description": "Plans change through the patrol pages and API (which check the "
                "itinerary and notify the parties); here they are shown, not edited.",
            },
        ),
        (
            "Record",
            {"fields": ["created_at"], "description": TIME_ZONE_NOTE},
        ),
    ]

    def has_add_permission(self, request):
        return False  # plans are made through patrols.services, which checks the itinerary

    def has_change_permission(self, request, obj=None):
        return False  # an approved itinerary changes only by amendment, through the services

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        # What the pages show this person: another planner's draft is not theirs to read.
        return selectors.patrol_plan_list(user=request.user)

    @admin.display(description="sectors")
    def sector_names(self, obj):
        return ", ".join(p.name for p in obj.sectors.all()) or "—"


@admin.register(ItineraryNotification)
class ItineraryNotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What each party was told, and whether it acknowledged: read-only (the outbox)."""

    list_display = ["__str__", "party", "status", "attempts",
                    local_time_column("sent_at", "sent"),
                    local_time_column("acknowledged_at", "acknowledged"),
                    "escalated_at"]  # fmt: skip
    list_filter = ["status", "purpose", "party"]
    list_select_related = ["party", "version", "version__plan__forward_base"]

    def get_queryset(self, request):
        # Notifications of the plans this person may see (the pages' rule).
        plans = selectors.patrol_plan_list(user=request.user).values("pk")
        return super().get_queryset(request).filter(version__plan__in=plans)


@admin.register(MovementRestriction)
class MovementRestrictionAdmin(ReadOnlyAdminMixin, MissionMapAdmin):
    """Recorded by the patrol (patrols.services.execution): read here, never edited."""

    list_display = ["__str__", "plan", local_time_column("occurred_at", "when"),
                    "turned_back",
                    "location_phrase"]  # fmt: skip
    list_filter = ["category", "actor", "turned_back"]
    list_select_related = ["plan__forward_base"]

    def get_queryset(self, request):
        plans = selectors.patrol_plan_list(user=request.user).values("pk")
        return super().get_queryset(request).filter(plan__in=plans)

"""Admin for patrol plans: an operator's view of the plans, with the itinerary on the map.

Plans are made through patrols.services (which check the itinerary); the admin corrects
them. Status changes (approval, notification, execution) belong to the patrol services,
so the status is shown here but not edited.
"""

from django.contrib import admin

from core.admin import TIME_ZONE_NOTE, MissionMapAdmin, local_time_column
from core.models import Province
from patrols.models import PatrolPlan


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
    filter_horizontal = ["sectors"]
    readonly_fields = ["status", "created_at"]
    fieldsets = [
        (None, {"fields": ["purpose", "forward_base", "team_leader", "status"]}),
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
                "description": "Draw the route with the line tool; list the sectors it crosses.",
            },
        ),
        (
            "Record",
            {"fields": ["created_at"], "description": TIME_ZONE_NOTE},
        ),
    ]

    def has_add_permission(self, request):
        return False  # plans are made through patrols.services, which checks the itinerary

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("sectors")

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "sectors":
            kwargs["queryset"] = Province.objects.filter(is_sector=True)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @admin.display(description="sectors")
    def sector_names(self, obj):
        return ", ".join(p.name for p in obj.sectors.all()) or "—"

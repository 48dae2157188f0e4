"""Admin for incident reports: review and correct what the tablets filed.

Reports are filed from the tablets through reports.services, which derives the sector and
the location phrase from the point; a location corrected here is derived again the same way.
"""

from django import forms
from django.contrib import admin

from core.admin import TIME_ZONE_NOTE, MissionMapAdmin, ReadOnlyAdminMixin, local_time_column
from core.selectors import describe_location, sector_at
from patrols.models import PatrolPlan
from reports.models import DailySummary, IncidentReport, SummaryDownload, SummaryRecipient


class IncidentReportAdminForm(forms.ModelForm):
    class Meta:
        model = IncidentReport
        fields = ["observed_at", "category", "severity", "description", "location", "patrol"]

    def clean(self):
        cleaned = super().clean()
        location = cleaned.get("location")
        if location is not None and "location" in self.changed_data:
            sector = sector_at(location)
            if sector is None:
                self.add_error(
                    "location",
                    f"{location.y:.5f}N {location.x:.5f}E is outside the mission area "
                    "(the five border provinces).",
                )
            else:
                self.instance.sector = sector
                self.instance.location_phrase = describe_location(location)[:160]
        return cleaned


@admin.register(IncidentReport)
class IncidentReportAdmin(MissionMapAdmin):
    form = IncidentReportAdminForm
    list_display = [
        local_time_column("observed_at", "observed"),
        "category",
        "severity",
        "sector",
        "location_phrase",
        "author",
        "status",
    ]
    list_filter = ["status", "category", "severity", "sector", "observed_at"]
    search_fields = ["description", "location_phrase", "author__username", "=uuid"]
    list_select_related = ["author", "sector"]
    date_hierarchy = "observed_at"
    readonly_fields = ["uuid", "author", "status", "sector", "location_phrase", "received_at"]
    fieldsets = [
        (None, {"fields": ["category", "severity", "description", "status"]}),
        (
            "When",
            {
                "fields": ["observed_at", "received_at"],
                "description": TIME_ZONE_NOTE,
            },
        ),
        (
            "Where",
            {
                "fields": ["location", "sector", "location_phrase"],
                "description": "Move the point to correct it: sector and phrase follow.",
            },
        ),
        ("Record", {"fields": ["uuid", "author", "patrol"]}),
    ]

    def has_add_permission(self, request):
        return False  # reports are filed from the tablets (reports.services)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "patrol":
            # A plan's name includes its forward base: fetch them with the plans.
            kwargs["queryset"] = PatrolPlan.objects.select_related("forward_base")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


# --- Daily summaries ------------------------------------------------------------------------


@admin.register(SummaryRecipient)
class SummaryRecipientAdmin(admin.ModelAdmin):
    """The distribution list: each recipient gets every new revision once, at their level."""

    list_display = ["name", "email", "level", "active"]
    list_filter = ["level", "active"]
    search_fields = ["name", "email"]


@admin.register(DailySummary)
class DailySummaryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "period_start", "period_end", "created_at"]
    date_hierarchy = "period_end"


@admin.register(SummaryDownload)
class SummaryDownloadAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "user", "artefact", "via"]
    list_filter = ["via"]
    list_select_related = ["user", "artefact__revision__summary"]
    date_hierarchy = "at"

    def get_queryset(self, request):
        # The files' bytes are not needed to list who downloaded what.
        return super().get_queryset(request).defer("artefact__data", "artefact__revision__content")

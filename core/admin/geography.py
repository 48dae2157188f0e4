"""Admin for the mission geography: provinces and their sectors, the border, settlements,
forward bases and restricted zones, each edited on the mission map (core.admin.shared)."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.utils import timezone

from core import selectors
from core.admin.shared import TIME_ZONE_NOTE, MissionMapAdmin, local_time_column
from core.models import BorderSegment, ForwardBase, Province, RestrictedZone, Settlement


@admin.register(Province)
class ProvinceAdmin(MissionMapAdmin):
    list_display = ["name", "name_hy", "iso_code", "is_sector", "area_km2"]
    list_filter = ["is_sector"]
    search_fields = ["name", "name_hy", "name_ru", "iso_code"]
    fieldsets = [
        (None, {"fields": ["name", "name_hy", "name_ru", "iso_code", "is_sector"]}),
        ("Reference", {"fields": ["area_km2", "wikidata"]}),
        ("Boundary", {"fields": ["geom"]}),
    ]


@admin.register(BorderSegment)
class BorderSegmentAdmin(MissionMapAdmin):
    list_display = ["segment", "province", "is_international", "length_km", "facing_units"]
    list_filter = ["is_international", "province"]
    search_fields = ["segment", "province__name", "facing_units"]
    list_select_related = ["province"]


class InSectorFilter(admin.SimpleListFilter):
    title = "mission sector"
    parameter_name = "in_sector"

    def lookups(self, request, model_admin):
        return [("yes", "In a sector"), ("no", "Outside the sectors")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(province__is_sector=True)
        if self.value() == "no":
            return queryset.exclude(province__is_sector=True)
        return queryset


@admin.register(Settlement)
class SettlementAdmin(MissionMapAdmin):
    list_display = ["name", "province", "population", "precision"]
    list_filter = [InSectorFilter, "province"]
    search_fields = ["name", "province__name"]
    list_select_related = ["province"]


@admin.register(ForwardBase)
class ForwardBaseAdmin(MissionMapAdmin):
    list_display = ["name", "settlement", "province", "member_count"]
    list_filter = ["province"]
    search_fields = ["name", "settlement__name", "province__name"]
    list_select_related = ["settlement", "province"]
    autocomplete_fields = ["settlement"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_members=Count("members"))

    @admin.display(description="members", ordering="_members")
    def member_count(self, obj):
        return obj._members


class InForceFilter(admin.SimpleListFilter):
    title = "in force"
    parameter_name = "in_force"

    def lookups(self, request, model_admin):
        return [("now", "In force now"), ("upcoming", "Not yet in force"), ("ended", "Ended")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "now":
            return queryset.filter(pk__in=selectors.restricted_zones_active(now).values("pk"))
        if self.value() == "upcoming":
            return queryset.filter(valid_from__gt=now)
        if self.value() == "ended":
            return queryset.filter(valid_until__lte=now)
        return queryset


ENDS_AFTER_START = next(
    c
    for c in RestrictedZone._meta.constraints
    if c.name == "restricted_zone_valid_until_after_valid_from"
)


class RestrictedZoneAdminForm(forms.ModelForm):
    class Meta:
        model = RestrictedZone
        fields = ["name", "reason", "details", "valid_from", "valid_until", "geom"]

    def clean(self):
        # The model's check constraint is the rule (the database enforces it too). Checked
        # here so its message sits on the end date, the field to fix, not above the form.
        cleaned = super().clean()
        zone = RestrictedZone(
            valid_from=cleaned.get("valid_from"), valid_until=cleaned.get("valid_until")
        )
        try:
            ENDS_AFTER_START.validate(RestrictedZone, zone)
        except ValidationError as error:
            self.add_error("valid_until", error)
        return cleaned


@admin.register(RestrictedZone)
class RestrictedZoneAdmin(MissionMapAdmin):
    """Coordinators keep these up to date: patrols must not be planned into a zone in force."""

    form = RestrictedZoneAdminForm
    list_display = [
        "name",
        "reason",
        local_time_column("valid_from", "valid from"),
        local_time_column("valid_until", "valid until"),
        "in_force",
        "created_by",
    ]
    list_filter = [InForceFilter, "reason"]
    search_fields = ["name", "details"]
    list_select_related = ["created_by"]
    date_hierarchy = "valid_from"
    readonly_fields = ["created_by", "created_at"]
    fieldsets = [
        (None, {"fields": ["name", "reason", "details"]}),
        (
            "When",
            {
                "fields": ["valid_from", "valid_until"],
                "description": f"{TIME_ZONE_NOTE} Leave “valid until” empty for no end date.",
            },
        ),
        ("Area", {"fields": ["geom"], "description": "Draw the zone with the polygon tool."}),
        ("Record", {"fields": ["created_by", "created_at"], "description": TIME_ZONE_NOTE}),
    ]

    @admin.display(description="in force now", boolean=True)
    def in_force(self, obj):
        now = timezone.now()
        return obj.valid_from <= now and (obj.valid_until is None or obj.valid_until > now)

    def get_fieldsets(self, request, obj=None):
        if obj is None:  # nothing to show about a record not made yet
            return self.fieldsets[:-1]
        return self.fieldsets

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

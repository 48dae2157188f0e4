"""Admin for the mission geography, accounts, device tokens and the audit trail.

Geometry is edited on a Leaflet map with the mission's own layers drawn under it
(static/core/mission-layers.js): there is no tile server. Writes go through model save()
and delete(), so the audit trail records them (client "admin").
"""

import json

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.gis.db.models import GeometryField
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html
from leaflet.admin import LeafletGeoAdmin

from core import selectors, services
from core.forms import CheckedLeafletAdminWidget, checked_form_class
from core.models import (
    AuditEntry,
    BorderSegment,
    DeviceToken,
    ForwardBase,
    Province,
    RestrictedZone,
    Settlement,
    User,
)

TIME_ZONE_NOTE = f"Times are in {settings.TIME_ZONE} time."

admin.site.site_header = "missionapp administration"
admin.site.site_title = "missionapp admin"
admin.site.index_title = "Mission administration"


def local_time_column(field, label):
    """A changelist column showing a datetime field, its header naming the time zone."""

    @admin.display(description=f"{label} ({settings.TIME_ZONE})", ordering=field)
    def column(obj):
        value = getattr(obj, field)
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "—"

    column.__name__ = f"{field}_local"
    return column


class MissionMapAdmin(LeafletGeoAdmin):
    """A geometry admin whose map shows provinces, border, settlements, bases and zones.

    Its geometry fields read the widget's text through core.geometry, the one entrance for
    geometry: the admin refuses what the API refuses (a coordinate of 1e300 once aborted the
    web process inside SpatiaLite), with the same reasons on the field.
    """

    widget = CheckedLeafletAdminWidget  # redraws a refused form without parsing the refused text

    class Media:
        # dom.js first: the layers' names reach the map as text nodes built with it.
        js = ["core/dom.js", "core/mission-layers.js"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, GeometryField):
            kwargs["form_class"] = checked_form_class(db_field.geom_type)
            # django-leaflet's form fields set their widget's nonce from this argument (None
            # when not given, which would leave the map's inline script refused by the CSP).
            kwargs["csp_nonce"] = getattr(request, "csp_nonce", None)
        return super().formfield_for_dbfield(db_field, request, **kwargs)


# --- Geography ---------------------------------------------------------------------------


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


# --- Accounts and devices ----------------------------------------------------------------


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    fieldsets = [
        *DjangoUserAdmin.fieldsets[:2],
        ("Mission", {"fields": ["forward_base", "groups"]}),
        (
            "Permissions",
            {"fields": ["is_active", "is_staff", "is_superuser", "user_permissions"]},
        ),
        (
            "Important dates",
            {"fields": ["last_login", "date_joined"], "description": TIME_ZONE_NOTE},
        ),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["username", "usable_password", "password1", "password2"],
            },
        ),
        ("Mission", {"fields": ["forward_base", "groups"]}),
    ]
    list_display = [
        "username",
        "first_name",
        "last_name",
        "roles",
        "forward_base",
        "is_staff",
        "is_active",
    ]
    list_filter = ["groups", "forward_base", "is_staff", "is_active", "is_superuser"]
    list_select_related = ["forward_base"]
    search_fields = ["username", "first_name", "last_name", "email"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="roles")
    def roles(self, obj):
        return ", ".join(sorted(g.name for g in obj.groups.all())) or "—"

    def get_readonly_fields(self, request, obj=None):
        # Only a superuser may hand out superuser status or permissions outside the roles;
        # an administrator manages people through their role groups.
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly += ["is_superuser", "user_permissions"]
        return readonly


@admin.register(DeviceToken)
class DeviceTokenAdmin(admin.ModelAdmin):
    """Devices logged in through the API; revoking a token logs that device out, alone.

    The table's primary key is the token's digest, which must never be shown: the admin
    addresses tokens by their key instead (checkboxes), and has no change or delete page
    (their URLs and forms would carry the primary key). Everything worth knowing about a
    device is in the list; deleting is the "Revoke" action.
    """

    list_display = [
        "user",
        "device_name",
        local_time_column("created", "created"),
        local_time_column("expiry", "expires"),
        local_time_column("last_used_at", "last used"),
        "token_key",
    ]
    list_display_links = None
    list_filter = ["created", "expiry"]
    search_fields = ["user__username", "device_name", "token_key"]
    list_select_related = ["user"]
    actions = ["revoke"]

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_changelist"
        return [path("", self.admin_site.admin_view(self.changelist_view), name=name)]

    def has_add_permission(self, request):
        return False  # devices get tokens by logging in from the device

    def has_change_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # its confirmation page lists primary keys
        return actions

    def action_checkbox(self, obj):
        checkbox = forms.CheckboxInput(
            {"class": "action-select", "aria-label": f"Select {obj}"}, lambda value: False
        )
        return checkbox.render(helpers.ACTION_CHECKBOX_NAME, obj.token_key)

    def response_action(self, request, queryset):
        keys = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        if keys:
            post = request.POST.copy()
            post.setlist(
                helpers.ACTION_CHECKBOX_NAME,
                list(DeviceToken.objects.filter(token_key__in=keys).values_list("pk", flat=True)),
            )
            request.POST = post
        return super().response_action(request, queryset)

    @admin.action(description="Revoke the selected devices' tokens", permissions=["delete"])
    def revoke(self, request, queryset):
        tokens = list(queryset.select_related("user"))
        for token in tokens:
            services.device_token_revoke(token=token)
        names = ", ".join(f"{t.device_name} ({t.user})" for t in tokens)
        self.message_user(
            request,
            f"Revoked {len(tokens)} device token(s): {names}. Those devices must log in again.",
            level=messages.SUCCESS,
        )


# --- Audit trail -------------------------------------------------------------------------


class ReadOnlyAdminMixin:
    """Records the system makes (audit entries, notifications sent, reads logged, summaries
    built): the admin shows them and never adds, changes or deletes one."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit trail, read-only for everyone: entries are append-only by design."""

    list_display = [
        "seq",
        local_time_column("at", "at"),
        "actor_label",
        "client",
        "action",
        "model",
        "object_pk",
        "object_repr",
    ]
    list_filter = ["action", "client", "model"]
    search_fields = ["=object_pk", "actor_label"]
    ordering = ["-id"]  # waiting entries (no seq yet) come first, as the newest
    date_hierarchy = "at"
    # Counting the whole trail on every page view gets slow as it grows.
    show_full_result_count = False
    fields = [
        "seq",
        "at_local",
        "actor_label",
        "client",
        "client_ref",
        "action",
        "model",
        "object_pk",
        "object_repr",
        "changes_pretty",
        "key_id",
        "prev_mac",
        "mac",
        "sealed_at",
    ]
    readonly_fields = fields

    @admin.display(description=f"at ({settings.TIME_ZONE})")
    def at_local(self, obj):
        return timezone.localtime(obj.at).strftime("%Y-%m-%d %H:%M:%S")

    @admin.display(description="changes (field: [before, after])")
    def changes_pretty(self, obj):
        text = json.dumps(obj.changes, indent=2, sort_keys=True, ensure_ascii=False)
        return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text)

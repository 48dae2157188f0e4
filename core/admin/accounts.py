"""Admin for accounts and devices: people and their role groups (only a superuser hands out
superuser status), and the API device tokens, revoked without ever showing their digest."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.urls import path

from core import services
from core.admin.shared import TIME_ZONE_NOTE, local_time_column
from core.models import DeviceToken, User


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
    actions = ["second_factor_reset"]

    @admin.action(
        description="Reset the second factor (lost phone): set up anew at the next login",
        permissions=["change"],
    )
    def second_factor_reset(self, request, queryset):
        for user in queryset:
            services.second_factor_reset(user=user, by=request.user)
        self.message_user(
            request,
            f"Second factor reset for {len(queryset)} member(s): their sessions and devices are "
            "logged out, and they set up a new one at their next login.",
            messages.SUCCESS,
        )

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

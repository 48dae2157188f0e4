"""Admin for liaison data: parties and organisations are data an operator adds here (no
deployment); contacts are kept here too, with channel values shown only on the change form
(encrypted at rest, never in a list). The access log is read-only, for administrators.
Subject access (export) and erasure are admin actions that go through liaison.services."""

import json

from django.contrib import admin, messages
from django.http import HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters

from core.admin import ReadOnlyAdminMixin, local_time_column
from core.roles import Role, has_role
from liaison import selectors, services
from liaison.models import (
    Contact,
    ContactAccessLog,
    ContactChannel,
    FollowUp,
    LogEntry,
    Organisation,
    Party,
)


@admin.register(Party)
class PartyAdmin(admin.ModelAdmin):
    """Parties are data: a new counterpart is added here, with the sectors it is told of."""

    list_display = ["name", "code", "always_notified", "active", "sector_names"]
    list_filter = ["always_notified", "active"]
    filter_horizontal = ["sectors"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("sectors")

    @admin.display(description="sectors")
    def sector_names(self, obj):
        return ", ".join(p.name for p in obj.sectors.all()) or "—"


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "unit", "party"]
    list_filter = ["party"]
    search_fields = ["name", "unit"]
    list_select_related = ["party"]


class ContactChannelInline(admin.TabularInline):
    model = ContactChannel
    extra = 1
    fields = ["kind", "value", "label", "preferred"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["display_name", "party", "organisation", "position", "receives_itineraries",
                    "is_party_fallback", "anonymised_at"]  # fmt: skip
    list_filter = ["party", "receives_itineraries", "is_party_fallback", "sectors"]
    search_fields = ["name_latin", "name_original", "position"]
    list_select_related = ["party", "organisation"]
    filter_horizontal = ["sectors", "forward_bases", "itinerary_sectors"]
    readonly_fields = ["last_contacted_at", "created_at", "updated_at", "anonymised_at"]
    inlines = [ContactChannelInline]
    actions = ["export_subject_access", "erase"]

    def get_queryset(self, request):
        # Need-to-know: the contacts the liaison pages show this person, no others.
        visible = selectors.contact_list(user=request.user).values("pk")
        return super().get_queryset(request).filter(pk__in=visible)

    # The form posts channel values (phone numbers, e-mails): keep them out of error reports.
    @method_decorator(sensitive_post_parameters())
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(request, object_id, form_url, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        # Logged once the page was shown: a refused or missing contact was not read. The
        # contact is looked up in this person's list (need-to-know), as the page did.
        if request.method == "GET" and response.status_code == 200:
            contact = self.get_object(request, object_id)
            if contact is not None:
                services.contact_read_log(
                    user=request.user, contacts=[contact], via=ContactAccessLog.Via.PAGE
                )
        return response

    @admin.action(description="Export everything held about the contact (subject access)")
    def export_subject_access(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Export one contact at a time.", messages.ERROR)
            return None
        contact = queryset.get()
        data = services.contact_export(by=request.user, contact=contact)
        response = HttpResponse(
            json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json"
        )
        response["Content-Disposition"] = f'attachment; filename="contact-{contact.pk}.json"'
        return response

    @admin.action(description="Erase the contact (subject's request)")
    def erase(self, request, queryset):
        for contact in queryset:
            services.contact_erase(by=request.user, contact=contact)
        self.message_user(request, "Erased.", messages.SUCCESS)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not selectors.can_manage_subject_data(request.user):
            actions.pop("export_subject_access", None)
            actions.pop("erase", None)
        return actions


@admin.register(ContactAccessLog)
class ContactAccessLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Who read which contact: read-only, for administrators."""

    list_display = [local_time_column("at", "when"), "user", "contact_ref", "contact", "via"]
    list_filter = ["via"]
    search_fields = ["user__username", "=contact_ref"]
    list_select_related = ["user", "contact"]

    def has_module_permission(self, request):
        return has_role(request.user, Role.ADMINISTRATOR)

    def has_view_permission(self, request, obj=None):
        return has_role(request.user, Role.ADMINISTRATOR)


class FollowUpInline(admin.TabularInline):
    model = FollowUp
    extra = 0
    fields = ["action", "owner", "due_on", "done_at"]


@admin.register(LogEntry)
class LogEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The communication log is written on the liaison pages (liaison.services); here it is
    read, by those who may read it there."""

    list_display = [local_time_column("occurred_at", "when"), "kind", "topic",
                    "initiating_party", "sector"]  # fmt: skip
    list_filter = ["kind", "topic", "initiating_party", "sector"]
    search_fields = ["summary", "outcome"]
    list_select_related = ["initiating_party", "sector"]
    filter_horizontal = ["participants", "mission_staff"]
    inlines = [FollowUpInline]

    def get_queryset(self, request):
        visible = selectors.log_entry_list(user=request.user).values("pk")
        return super().get_queryset(request).filter(pk__in=visible)

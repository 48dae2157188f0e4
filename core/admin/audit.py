"""Admin for the audit trail: read-only for everyone, since entries are append-only by
design; an entry shows its changes pretty-printed."""

import json

from django.conf import settings
from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html

from core.admin.shared import ReadOnlyAdminMixin, local_time_column
from core.models import AuditEntry


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

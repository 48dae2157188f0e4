"""What every app's admin builds on: datetime columns naming the time zone, the geometry
admin on a map of the mission's own layers (static/core/mission-layers.js: there is no tile
server), and the read-only admin for records the system makes."""

from django.conf import settings
from django.contrib import admin
from django.contrib.gis.db.models import GeometryField
from django.utils import timezone
from leaflet.admin import LeafletGeoAdmin

from core.forms import CheckedLeafletAdminWidget, checked_form_class

TIME_ZONE_NOTE = f"Times are in {settings.TIME_ZONE} time."


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
        js = ["core/dom.js", "core/basemap.js", "core/mission-layers.js"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, GeometryField):
            kwargs["form_class"] = checked_form_class(db_field.geom_type)
            # django-leaflet's form fields set their widget's nonce from this argument (None
            # when not given, which would leave the map's inline script refused by the CSP).
            kwargs["csp_nonce"] = getattr(request, "csp_nonce", None)
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class ReadOnlyAdminMixin:
    """Records the system makes (audit entries, notifications sent, reads logged, summaries
    built): the admin shows them and never adds, changes or deletes one."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

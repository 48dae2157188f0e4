"""The admin: core's own pages (geography, accounts and devices, the audit trail) and what
every app's admin builds on (`core.admin.shared`, re-exported here: `from core.admin import
MissionMapAdmin`).

Geometry is edited on a Leaflet map with the mission's own layers drawn under it. Writes go
through model save() and delete(), so the audit trail records them (client "admin").
"""

from django.contrib import admin

# Importing core's admin modules registers their ModelAdmins (Django imports this package).
from core.admin import accounts, audit, geography  # noqa: F401
from core.admin.shared import (
    TIME_ZONE_NOTE,
    MissionMapAdmin,
    ReadOnlyAdminMixin,
    local_time_column,
)
from core.forms import AdminLoginForm

# The admin's login form says "locked out until …" as the login page does (core.security).
admin.site.login_form = AdminLoginForm
admin.site.site_header = "missionapp administration"
admin.site.site_title = "missionapp admin"
admin.site.index_title = "Mission administration"

__all__ = ["TIME_ZONE_NOTE", "MissionMapAdmin", "ReadOnlyAdminMixin", "local_time_column"]

from django.contrib import admin
from django.urls import include, path

from core import health, metrics
from core import views as core_views
from core.api.docs import ApiDocsView, SchemaView
from core.basemap.views import basemap_tile
from patrols import urls as patrol_urls
from reports import urls as report_urls

# The API answers an unknown path in its own error format; pages keep Django's.
handler404 = "core.api.errors.not_found"

urlpatterns = [
    # First: the tablets' busiest route is resolved without walking every other pattern.
    path("api/reports/", include("reports.api_urls")),
    path("", core_views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    # Prometheus: from METRICS_ALLOWED_NETWORKS or with METRICS_TOKEN only (core/metrics.py).
    path("metrics", metrics.metrics, name="metrics"),
    path("login/", core_views.LoginView.as_view(), name="login"),
    path("login/second-factor/", core_views.second_factor, name="second-factor"),
    path(
        "login/second-factor/set-up/",
        core_views.second_factor_setup,
        name="second-factor-setup",
    ),
    path("logout/", core_views.LogoutView.as_view(), name="logout"),
    path("account/", core_views.account, name="account"),
    path("account/password/", core_views.PasswordChangeView.as_view(), name="password-change"),
    path("account/recovery-codes/", core_views.recovery_codes_renew, name="recovery-codes-renew"),
    path("admin/", admin.site.urls),
    path("itineraries/", include(patrol_urls.itinerary_urlpatterns)),
    path("patrols/", include(patrol_urls.urlpatterns)),
    path("incidents/", include(report_urls.urlpatterns)),
    path("summaries/", include("reports.summaries.urls")),
    path("tablet/", include(report_urls.tablet_urlpatterns)),
    path("api/", include("core.api_urls")),
    # The base layer's tiles (core/basemap/): XYZ, with the layer's version as ?v=.
    path("tiles/<int:z>/<int:x>/<int:y>.<slug:fmt>", basemap_tile, name="basemap-tile"),
    path("api/summaries/", include("reports.summaries.api_urls")),
    path("api/", include("patrols.api_urls")),
    path("api/liaison/", include("liaison.api_urls")),
    path("liaison/", include("liaison.urls")),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="schema"), name="api-docs"),
]

# A request Django refuses before any view (a body over DATA_UPLOAD_MAX_MEMORY_SIZE) answers
# the API's error format under /api/ and a page saying why elsewhere, not a bare "400".
handler400 = "core.pages.bad_request"

"""The reports' pages (the API is reports.api_urls): `urlpatterns`, the incident pages
mounted at /incidents/, and `tablet_urlpatterns`, the tablet app mounted at /tablet/ (its
service worker's scope)."""

from django.urls import path

from reports.views import incidents, tablet

urlpatterns = [
    path("", incidents.incident_list, name="incident-list"),
    path("queue/", incidents.review_queue, name="incident-queue"),
    path("map/", incidents.incident_map, name="incident-map"),
    path("<uuid:uuid>/", incidents.incident_detail, name="incident-detail"),
    path("<uuid:uuid>/review/", incidents.incident_review, name="incident-review"),
    path("<uuid:uuid>/verify/", incidents.incident_verify, name="incident-verify"),
    path("<uuid:uuid>/link/", incidents.incident_link, name="incident-link"),
]

tablet_urlpatterns = [
    path("", tablet.tablet_shell, name="tablet"),
    path("sw.js", tablet.tablet_service_worker, name="tablet-sw"),
    path("manifest.webmanifest", tablet.tablet_manifest, name="tablet-manifest"),
    path("patrols.json", tablet.tablet_patrols, name="tablet-patrols"),
]

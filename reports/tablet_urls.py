"""The tablet app, mounted at /tablet/ (its service worker's scope)."""

from django.urls import path

from reports import tablet

urlpatterns = [
    path("", tablet.tablet_shell, name="tablet"),
    path("sw.js", tablet.tablet_service_worker, name="tablet-sw"),
    path("manifest.webmanifest", tablet.tablet_manifest, name="tablet-manifest"),
    path("patrols.json", tablet.tablet_patrols, name="tablet-patrols"),
]

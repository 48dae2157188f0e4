"""The application's URLs and the floor's create endpoint (bench settings only)."""

from django.urls import path

from bench.floor.apis import FloorReportCreateApi
from missionapp.urls import urlpatterns as application_urlpatterns

urlpatterns = [
    *application_urlpatterns,
    path("bench/floor/", FloorReportCreateApi.as_view(), name="bench-floor-create"),
]

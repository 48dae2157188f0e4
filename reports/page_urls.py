"""The incident pages, mounted at /incidents/ (the tablet app lives in reports.tablet_urls)."""

from django.urls import path

from reports import views

urlpatterns = [
    path("", views.incident_list, name="incident-list"),
    path("queue/", views.review_queue, name="incident-queue"),
    path("map/", views.incident_map, name="incident-map"),
    path("<uuid:uuid>/", views.incident_detail, name="incident-detail"),
    path("<uuid:uuid>/review/", views.incident_review, name="incident-review"),
    path("<uuid:uuid>/verify/", views.incident_verify, name="incident-verify"),
    path("<uuid:uuid>/link/", views.incident_link, name="incident-link"),
]

"""The liaison pages, mounted at /liaison/."""

from django.urls import path

from liaison import views

urlpatterns = [
    path("", views.contact_list, name="liaison-contacts"),
    path("contacts/<int:pk>/", views.contact_detail, name="liaison-contact"),
    path("contacts/<int:pk>/log/new/", views.log_entry_create, name="liaison-log-new"),
    path("map/", views.contact_map, name="liaison-map"),
    path("follow-ups/", views.follow_ups, name="liaison-follow-ups"),
    path("follow-ups/<int:pk>/done/", views.follow_up_done, name="liaison-follow-up-done"),
]

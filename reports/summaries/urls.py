"""The summaries' pages, under /summaries/ (the API's routes are in api_urls.py)."""

from django.urls import path

from reports.summaries import views

# One stored file of a revision; the API serves the same path under /api/summaries/.
FILE = "<int:year>/<int:number>/r<int:revision>/<str:level>.<str:fmt>"

urlpatterns = [
    path("", views.summary_list, name="summary-list"),
    path("<int:year>/<int:number>/", views.summary_detail, name="summary-detail"),
    path(FILE, views.summary_download, name="summary-file"),
]

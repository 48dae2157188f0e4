"""The summaries' API, under /api/summaries/ (the pages' routes are in urls.py)."""

from django.urls import path

from reports.summaries import apis
from reports.summaries.urls import FILE

urlpatterns = [
    path("", apis.SummaryListApi.as_view(), name="api-summaries"),
    path("<int:year>/<int:number>/", apis.SummaryDetailApi.as_view(), name="api-summary"),
    path("<int:year>/<int:number>/content/", apis.SummaryContentApi.as_view(),
         name="api-summary-content"),
    path(FILE, apis.SummaryFileApi.as_view(), name="api-summary-file"),
]  # fmt: skip

from django.urls import path

from reports.summaries import apis, views

FILE = "<int:year>/<int:number>/r<int:revision>/<str:level>.<str:fmt>"

page_urlpatterns = [
    path("", views.summary_list, name="summary-list"),
    path("<int:year>/<int:number>/", views.summary_detail, name="summary-detail"),
    path(FILE, views.summary_download, name="summary-file"),
]

api_urlpatterns = [
    path("", apis.SummaryListApi.as_view(), name="api-summaries"),
    path("<int:year>/<int:number>/", apis.SummaryDetailApi.as_view(), name="api-summary"),
    path("<int:year>/<int:number>/content/", apis.SummaryContentApi.as_view(),
         name="api-summary-content"),
    path(FILE, apis.SummaryFileApi.as_view(), name="api-summary-file"),
]  # fmt: skip

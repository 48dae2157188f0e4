from django.urls import path

from reports import apis

urlpatterns = [
    path("", apis.IncidentReportListApi.as_view(), name="api-incident-reports"),
    path("<uuid:uuid>/", apis.IncidentReportDetailApi.as_view(), name="api-incident-report"),
]

from django.urls import path

from reports import apis

urlpatterns = [
    path("", apis.IncidentReportsApi.as_view(), name="api-incident-reports"),
    path("<uuid:uuid>/", apis.IncidentReportEditApi.as_view(), name="api-incident-report"),
    path(
        "<uuid:uuid>/submit/",
        apis.IncidentReportSubmitApi.as_view(),
        name="api-incident-report-submit",
    ),
]

from django.urls import path

from reports import apis

urlpatterns = [
    path("", apis.IncidentReportsApi.as_view(), name="api-incident-reports"),
    path("<uuid:uuid>/", apis.IncidentReportEditApi.as_view(), name="api-incident-report"),
    path("<uuid:uuid>/submit/", apis.IncidentReportSubmitApi.as_view(),
         name="api-incident-report-submit"),
    path("<uuid:uuid>/attachments/", apis.AttachmentsApi.as_view(),
         name="api-incident-report-attachments"),
    path("<uuid:uuid>/attachments/<str:sha256>/<str:variant>", apis.AttachmentFileApi.as_view(),
         name="api-incident-report-attachment-file"),
]  # fmt: skip

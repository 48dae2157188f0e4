from django.urls import path

from reports import apis

urlpatterns = [
    path("", apis.IncidentReportsApi.as_view(), name="api-incident-reports"),
    path("geojson/", apis.IncidentReportGeoJsonApi.as_view(), name="api-incident-reports-geojson"),
    path("map/", apis.IncidentMapApi.as_view(), name="api-incident-map"),
    path("export.csv", apis.IncidentReportCsvApi.as_view(), name="api-incident-reports-csv"),
    path("<uuid:uuid>/review/", apis.IncidentReportReviewApi.as_view(),
         name="api-incident-report-review"),
    path("<uuid:uuid>/verify/", apis.IncidentReportVerifyApi.as_view(),
         name="api-incident-report-verify"),
    path("<uuid:uuid>/", apis.IncidentReportEditApi.as_view(), name="api-incident-report"),
    path("<uuid:uuid>/submit/", apis.IncidentReportSubmitApi.as_view(),
         name="api-incident-report-submit"),
    path("<uuid:uuid>/attachments/", apis.AttachmentsApi.as_view(),
         name="api-incident-report-attachments"),
    path("<uuid:uuid>/attachments/<str:sha256>/<str:variant>", apis.AttachmentFileApi.as_view(),
         name="api-incident-report-attachment-file"),
]  # fmt: skip

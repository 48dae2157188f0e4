"""The reports' API, mounted at /api/reports/ (first in missionapp.urls: the tablets'
busiest route). The pages are reports.urls; the summaries' API reports.summaries.api_urls."""

from django.urls import path

from reports.apis import attachments, incidents, lists, review, uploads

urlpatterns = [
    path("", incidents.IncidentReportsApi.as_view(), name="api-incident-reports"),
    path("geojson/", lists.IncidentReportGeoJsonApi.as_view(), name="api-incident-reports-geojson"),
    path("map/", lists.IncidentMapApi.as_view(), name="api-incident-map"),
    path("export.csv", lists.IncidentReportCsvApi.as_view(), name="api-incident-reports-csv"),
    path("<uuid:uuid>/review/", review.IncidentReportReviewApi.as_view(),
         name="api-incident-report-review"),
    path("<uuid:uuid>/verify/", review.IncidentReportVerifyApi.as_view(),
         name="api-incident-report-verify"),
    path("<uuid:uuid>/", incidents.IncidentReportEditApi.as_view(), name="api-incident-report"),
    path("<uuid:uuid>/submit/", incidents.IncidentReportSubmitApi.as_view(),
         name="api-incident-report-submit"),
    path("<uuid:uuid>/attachments/", attachments.AttachmentsApi.as_view(),
         name="api-incident-report-attachments"),
    path("<uuid:uuid>/attachments/<str:sha256>/<str:variant>",
         attachments.AttachmentFileApi.as_view(), name="api-incident-report-attachment-file"),
    path("<uuid:uuid>/uploads/", uploads.UploadsApi.as_view(), name="api-incident-report-uploads"),
    path("<uuid:uuid>/uploads/<str:sha256>/", uploads.UploadApi.as_view(),
         name="api-incident-report-upload"),
]  # fmt: skip

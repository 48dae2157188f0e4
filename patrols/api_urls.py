"""The patrol API, mounted at /api/ (the pages are in patrols.urls)."""

from django.urls import path

from patrols.apis import execution, files, notifications, plans

urlpatterns = [
    path("patrols/", plans.PatrolPlanListApi.as_view(), name="api-patrols"),
    path("patrols/<int:pk>/", plans.PatrolPlanDetailApi.as_view(), name="api-patrol"),
    path("patrols/<int:pk>/checks/", plans.PatrolPlanChecksApi.as_view(), name="api-patrol-checks"),
    path("patrols/<int:pk>/submit/", plans.PatrolPlanSubmitApi.as_view(), name="api-patrol-submit"),
    path("patrols/<int:pk>/return/", plans.PatrolPlanReturnApi.as_view(), name="api-patrol-return"),
    path("patrols/<int:pk>/approve/", plans.PatrolPlanApproveApi.as_view(),
         name="api-patrol-approve"),
    path("patrols/<int:pk>/amend/", plans.PatrolPlanAmendApi.as_view(), name="api-patrol-amend"),
    path("patrols/<int:pk>/cancel/", plans.PatrolPlanCancelApi.as_view(), name="api-patrol-cancel"),
    path("patrols/<int:pk>/start/", plans.PatrolStartApi.as_view(), name="api-patrol-start"),
    path("patrols/<int:pk>/complete/", plans.PatrolCompleteApi.as_view(),
         name="api-patrol-complete"),
    path("patrols/<int:pk>/abort/", plans.PatrolAbortApi.as_view(), name="api-patrol-abort"),
    path("patrols/<int:pk>/track/", execution.PatrolTrackApi.as_view(), name="api-patrol-track"),
    path("patrols/<int:pk>/restrictions/", execution.PatrolRestrictionsApi.as_view(),
         name="api-patrol-restrictions"),
    path("patrols/<int:pk>/itinerary.gpx", files.ItineraryGpxApi.as_view(),
         name="api-patrol-gpx"),
    path("patrols/<int:pk>/itinerary.pdf", files.ItineraryPdfApi.as_view(),
         name="api-patrol-pdf"),
    path("itinerary-notifications/", notifications.NotificationListApi.as_view(),
         name="api-notifications"),
    path("itinerary-notifications/<int:pk>/acknowledge/",
         notifications.NotificationAcknowledgeApi.as_view(), name="api-notification-acknowledge"),
    path("itinerary-notifications/<int:pk>/objection/",
         notifications.NotificationObjectionApi.as_view(), name="api-notification-objection"),
    path("itinerary-notifications/<int:pk>/retry/", notifications.NotificationRetryApi.as_view(),
         name="api-notification-retry"),
]  # fmt: skip

from django.urls import path

from patrols import apis

urlpatterns = [
    path("patrols/", apis.PatrolPlanListApi.as_view(), name="api-patrols"),
    path("patrols/<int:pk>/", apis.PatrolPlanDetailApi.as_view(), name="api-patrol"),
    path("patrols/<int:pk>/checks/", apis.PatrolPlanChecksApi.as_view(), name="api-patrol-checks"),
    path("patrols/<int:pk>/submit/", apis.PatrolPlanSubmitApi.as_view(), name="api-patrol-submit"),
    path("patrols/<int:pk>/return/", apis.PatrolPlanReturnApi.as_view(), name="api-patrol-return"),
    path("patrols/<int:pk>/approve/", apis.PatrolPlanApproveApi.as_view(),
         name="api-patrol-approve"),
    path("patrols/<int:pk>/amend/", apis.PatrolPlanAmendApi.as_view(), name="api-patrol-amend"),
    path("patrols/<int:pk>/cancel/", apis.PatrolPlanCancelApi.as_view(), name="api-patrol-cancel"),
    path("patrols/<int:pk>/start/", apis.PatrolStartApi.as_view(), name="api-patrol-start"),
    path("patrols/<int:pk>/complete/", apis.PatrolCompleteApi.as_view(),
         name="api-patrol-complete"),
    path("patrols/<int:pk>/abort/", apis.PatrolAbortApi.as_view(), name="api-patrol-abort"),
    path("patrols/<int:pk>/track/", apis.PatrolTrackApi.as_view(), name="api-patrol-track"),
    path("patrols/<int:pk>/restrictions/", apis.PatrolRestrictionsApi.as_view(),
         name="api-patrol-restrictions"),
    path("patrols/<int:pk>/itinerary.gpx", apis.ItineraryGpxApi.as_view(),
         name="api-patrol-gpx"),
    path("patrols/<int:pk>/itinerary.pdf", apis.ItineraryPdfApi.as_view(),
         name="api-patrol-pdf"),
    path("itinerary-notifications/", apis.NotificationListApi.as_view(),
         name="api-notifications"),
    path("itinerary-notifications/<int:pk>/acknowledge/",
         apis.NotificationAcknowledgeApi.as_view(), name="api-notification-acknowledge"),
    path("itinerary-notifications/<int:pk>/objection/", apis.NotificationObjectionApi.as_view(),
         name="api-notification-objection"),
    path("itinerary-notifications/<int:pk>/retry/", apis.NotificationRetryApi.as_view(),
         name="api-notification-retry"),
]  # fmt: skip

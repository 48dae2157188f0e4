"""The patrol pages: `urlpatterns` mounted at /patrols/, and `itinerary_urlpatterns` at
/itineraries/ (the public acknowledgement link the parties receive). The API is in
patrols.api_urls."""

from django.urls import path

from patrols.views import calendar, notifications, plans, review

urlpatterns = [
    path("", plans.plan_list, name="patrol-list"),
    path("new/", plans.plan_create, name="patrol-new"),
    path("approvals/", review.approval_queue, name="patrol-approvals"),
    path("calendar/", calendar.calendar, name="patrol-calendar"),
    path("<int:pk>/", plans.plan_detail, name="patrol-detail"),
    path("<int:pk>/edit/", plans.plan_edit, name="patrol-edit"),
    path("<int:pk>/submit/", plans.plan_submit, name="patrol-submit"),
    path("<int:pk>/cancel/", plans.plan_cancel, name="patrol-cancel"),
    path("<int:pk>/start/", plans.patrol_start, name="patrol-start"),
    path("<int:pk>/complete/", plans.patrol_complete, name="patrol-complete"),
    path("<int:pk>/abort/", plans.patrol_abort, name="patrol-abort"),
    path("<int:pk>/review/", review.plan_review, name="patrol-review"),
    path("<int:pk>/approve/", review.plan_approve, name="patrol-approve"),
    path("<int:pk>/return/", review.plan_return, name="patrol-return"),
    path("notifications/<int:pk>/acknowledge/", notifications.notification_acknowledge,
         name="patrol-notification-acknowledge"),
    path("notifications/<int:pk>/objection/", notifications.notification_objection,
         name="patrol-notification-objection"),
    path("notifications/<int:pk>/retry/", notifications.notification_retry,
         name="patrol-notification-retry"),
]  # fmt: skip

itinerary_urlpatterns = [
    path("ack/<str:token>/", notifications.itinerary_acknowledge, name="itinerary-ack"),
]

"""The patrol pages, mounted at /patrols/ (the acknowledgement link lives in patrols.urls)."""

from django.urls import path

from patrols import views

urlpatterns = [
    path("", views.plan_list, name="patrol-list"),
    path("new/", views.plan_create, name="patrol-new"),
    path("approvals/", views.approval_queue, name="patrol-approvals"),
    path("calendar/", views.calendar, name="patrol-calendar"),
    path("<int:pk>/", views.plan_detail, name="patrol-detail"),
    path("<int:pk>/edit/", views.plan_edit, name="patrol-edit"),
    path("<int:pk>/submit/", views.plan_submit, name="patrol-submit"),
    path("<int:pk>/cancel/", views.plan_cancel, name="patrol-cancel"),
    path("<int:pk>/start/", views.patrol_start, name="patrol-start"),
    path("<int:pk>/complete/", views.patrol_complete, name="patrol-complete"),
    path("<int:pk>/abort/", views.patrol_abort, name="patrol-abort"),
    path("<int:pk>/review/", views.plan_review, name="patrol-review"),
    path("<int:pk>/approve/", views.plan_approve, name="patrol-approve"),
    path("<int:pk>/return/", views.plan_return, name="patrol-return"),
    path("notifications/<int:pk>/acknowledge/", views.notification_acknowledge,
         name="patrol-notification-acknowledge"),
    path("notifications/<int:pk>/objection/", views.notification_objection,
         name="patrol-notification-objection"),
    path("notifications/<int:pk>/retry/", views.notification_retry,
         name="patrol-notification-retry"),
]  # fmt: skip

"""The liaison API, mounted at /api/liaison/."""

from django.urls import path

from liaison import apis

urlpatterns = [
    path("contacts/", apis.ContactListApi.as_view(), name="api-liaison-contacts"),
    path("contacts/summary/", apis.ContactSummaryApi.as_view(),
         name="api-liaison-contact-summary"),
    path("contacts/<int:pk>/", apis.ContactDetailApi.as_view(), name="api-liaison-contact"),
    path("log/", apis.LogEntryListApi.as_view(), name="api-liaison-log"),
    path("follow-ups/", apis.FollowUpListApi.as_view(), name="api-liaison-follow-ups"),
    path("follow-ups/<int:pk>/done/", apis.FollowUpDoneApi.as_view(),
         name="api-liaison-follow-up-done"),
    path("hotline-activations/", apis.HotlineActivationsApi.as_view(),
         name="api-liaison-hotline-activations"),
]  # fmt: skip

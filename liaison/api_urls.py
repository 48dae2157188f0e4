"""The liaison API, mounted at /api/liaison/."""

from django.urls import path

from liaison.apis import contacts, log

urlpatterns = [
    path("contacts/", contacts.ContactListApi.as_view(), name="api-liaison-contacts"),
    path("contacts/summary/", contacts.ContactSummaryApi.as_view(),
         name="api-liaison-contact-summary"),
    path("contacts/<int:pk>/", contacts.ContactDetailApi.as_view(), name="api-liaison-contact"),
    path("log/", log.LogEntryListApi.as_view(), name="api-liaison-log"),
    path("follow-ups/", log.FollowUpListApi.as_view(), name="api-liaison-follow-ups"),
    path("follow-ups/<int:pk>/done/", log.FollowUpDoneApi.as_view(),
         name="api-liaison-follow-up-done"),
    path("hotline-activations/", log.HotlineActivationsApi.as_view(),
         name="api-liaison-hotline-activations"),
]  # fmt: skip

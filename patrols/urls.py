from django.urls import path

from patrols import views

urlpatterns = [
    path("ack/<str:token>/", views.itinerary_acknowledge, name="itinerary-ack"),
]

"""Itinerary notifications: the list a coordinator, liaison officer or duty officer follows,
and what liaison officers record on one (an acknowledgement received another way, an
objection) or a coordinator's retry of a failed sending."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.fields import ZonedDateTimeField
from patrols import selectors
from patrols.apis.shared import NotificationOutput
from patrols.models import ItineraryNotification
from patrols.services import notifications


def notifications_for(user):
    if not selectors.can_follow_notifications(user):
        raise PermissionDenied("Your role does not follow itinerary notifications.")
    return selectors.itinerary_notification_list()


def _recorded_notification(request, pk):
    """A notification a liaison officer or coordinator records on: who may is asked before
    the body is read."""
    rows = notifications_for(request.user)
    notifications.require_liaison(request.user)
    return get_object_or_404(rows, pk=pk)


def _record(request, pk, input_class, service):
    """What a liaison officer records on a notification: the body read with `input_class`
    once they are known to be allowed, then one service call."""
    row = _recorded_notification(request, pk)
    data = input_class(data=request.data)
    data.is_valid(raise_exception=True)
    row = service(notification=row, by=request.user, **data.validated_data)
    return Response(NotificationOutput(row).data)


class NotificationListApi(generics.ListAPIView):
    """Itinerary notifications per party (filter: status, party, escalated, plan)."""

    serializer_class = NotificationOutput
    filterset_fields = {
        "status": ["exact"],
        "party__code": ["exact"],
        "version__plan": ["exact"],
        "escalated_at": ["isnull"],
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ItineraryNotification.objects.none()
        return notifications_for(self.request.user).order_by("-queued_at")


class AcknowledgeInput(serializers.Serializer):
    method = serializers.ChoiceField(
        choices=[c for c in ItineraryNotification.AckMethod.choices if c[0] != "link"]
    )
    note = serializers.CharField()
    at = ZonedDateTimeField(required=False)

    class Meta:
        ref_name = "AcknowledgeInput"


class NotificationAcknowledgeApi(APIView):
    @extend_schema(request=AcknowledgeInput, responses=NotificationOutput)
    def post(self, request, pk):
        """Liaison officer: record an acknowledgement received by phone, hotline or in person."""
        return _record(request, pk, AcknowledgeInput,
                       notifications.notification_acknowledge_manually)  # fmt: skip


class ObjectionInput(serializers.Serializer):
    text = serializers.CharField()

    class Meta:
        ref_name = "ObjectionInput"


class NotificationObjectionApi(APIView):
    @extend_schema(request=ObjectionInput, responses=NotificationOutput)
    def post(self, request, pk):
        """Liaison officer: record a party's objection to the itinerary, in its words."""
        return _record(request, pk, ObjectionInput, notifications.notification_record_objection)


class NotificationRetryApi(APIView):
    @extend_schema(request=None, responses=NotificationOutput)
    def post(self, request, pk):
        """Coordinator: queue a failed notification again."""
        if not selectors.can_retry_notifications(request.user):
            raise PermissionDenied("Only a coordinator retries a notification.")
        row = get_object_or_404(notifications_for(request.user), pk=pk)
        return Response(NotificationOutput(
            notifications.notification_retry(notification=row, by=request.user)).data)  # fmt: skip

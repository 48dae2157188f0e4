"""The liaison API's communication log: entries and their follow-up actions (for those who
see contacts in full), and the hotline activation counts the summaries read."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from liaison import selectors, services
from liaison.apis.base import NeverStored, require
from liaison.apis.serializers import (
    FollowUpOutput,
    HotlineCountOutput,
    LogEntryInput,
    LogEntryListInput,
    LogEntryOutput,
    PeriodInput,
)
from liaison.models import FollowUp, LogEntry


class LogEntryListApi(NeverStored, generics.ListAPIView):
    """The communication log (liaison officers, coordinators, administrators)."""

    serializer_class = LogEntryOutput
    ordering_fields = ["occurred_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return LogEntry.objects.none()
        params = LogEntryListInput(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        qs = selectors.log_entry_list(user=self.request.user)
        if "contact" in params.validated_data:
            qs = qs.filter(participants=params.validated_data["contact"])
        return qs

    @extend_schema(
        parameters=[OpenApiParameter("contact", OpenApiTypes.INT, description="Contact id.")]
    )
    def get(self, request, *args, **kwargs):
        require(selectors.can_keep_contacts(request.user))
        return super().get(request, *args, **kwargs)

    @extend_schema(request=LogEntryInput, responses={201: LogEntryOutput})
    def post(self, request):
        require(selectors.can_keep_contacts(request.user))
        data = LogEntryInput(data=request.data)
        data.is_valid(raise_exception=True)
        entry = services.log_entry_create(by=request.user, **data.to_service(data.validated_data))
        entry = selectors.log_entry_list(user=request.user).get(pk=entry.pk)
        return Response(LogEntryOutput(entry).data, status=status.HTTP_201_CREATED)


class FollowUpListApi(NeverStored, generics.ListAPIView):
    """Open follow-up actions, soonest due first; `?overdue=1` for the overdue ones only,
    `?mine=1` for the caller's own."""

    serializer_class = FollowUpOutput

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return FollowUp.objects.none()
        params = self.request.query_params
        qs = selectors.follow_ups_open(user=self.request.user, mine_only=params.get("mine") == "1")
        if params.get("overdue") == "1":
            qs = qs.filter(pk__in=selectors.follow_ups_overdue().values("pk"))
        return qs

    @extend_schema(
        parameters=[
            OpenApiParameter("overdue", OpenApiTypes.BOOL),
            OpenApiParameter("mine", OpenApiTypes.BOOL),
        ]
    )
    def get(self, request, *args, **kwargs):
        require(selectors.can_keep_contacts(request.user))
        return super().get(request, *args, **kwargs)


class HotlineActivationsApi(NeverStored, APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("start", OpenApiTypes.DATETIME, required=True),
            OpenApiParameter("end", OpenApiTypes.DATETIME, required=True),
        ],
        responses=HotlineCountOutput(many=True),
        description="Hotline activations in [start, end) per sector, initiating side and "
        "topic, for the summaries; counts only (headquarters and duty officers may read it).",
    )
    def get(self, request):
        require(selectors.can_see_sector_figures(request.user))
        period = PeriodInput(data=request.query_params)
        period.is_valid(raise_exception=True)
        rows = selectors.hotline_activation_counts(**period.validated_data)
        return Response(HotlineCountOutput(rows, many=True).data)


class FollowUpDoneApi(NeverStored, APIView):
    @extend_schema(request=None, responses=FollowUpOutput)
    def post(self, request, pk):
        """Mark a follow-up action done (idempotent: done stays done at its first time)."""
        require(selectors.can_keep_contacts(request.user))
        follow_up = generics.get_object_or_404(FollowUp, pk=pk)
        follow_up = services.follow_up_done(by=request.user, follow_up=follow_up)
        return Response(FollowUpOutput(follow_up).data)

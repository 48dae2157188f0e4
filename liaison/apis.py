"""Liaison API, mounted at /api/liaison/. Same need-to-know rules as the pages
(liaison.selectors): views check the access level, read through a selector or call one
service, and log every read of a contact's details."""

import logging

from django.utils.cache import add_never_cache_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.fields import MissionDateField, ZonedDateTimeField
from core.dates import BoundedDateTimeSerializerField
from core.models import ForwardBase, Province, User
from liaison import selectors, services
from liaison.models import (
    Contact,
    ContactAccessLog,
    ContactChannel,
    FollowUp,
    LogEntry,
    Organisation,
    Party,
)
from liaison.selectors import Access, contact_access

security_log = logging.getLogger("missionapp.security")
REDACTION = (
    "What a caller sees depends on their role: liaison officers, coordinators and "
    "administrators get `ContactFull` (names, position, notes, every channel); monitors and "
    "team leaders get `ContactHotline` for contacts of their own sector only (party, "
    "organisation, sectors and hotline numbers; names, position, notes, phone numbers and "
    "e-mail addresses are redacted) and 404 for any other contact; headquarters and duty "
    "officers are refused (403) and use `/api/liaison/contacts/summary/` (counts only)."
)

# --- Output ---------------------------------------------------------------------------------


class ChannelOutput(serializers.ModelSerializer):
    class Meta:
        model = ContactChannel
        ref_name = "ContactChannel"
        fields = ["id", "kind", "value", "label", "preferred"]


class ContactFullOutput(serializers.ModelSerializer):
    """A contact in full: for liaison officers, coordinators and administrators."""

    party = serializers.SlugRelatedField(slug_field="code", read_only=True)
    organisation = serializers.CharField(source="organisation.name", allow_null=True)
    unit = serializers.CharField(source="organisation.unit", allow_null=True)
    sectors = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    forward_bases = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    channels = serializers.SerializerMethodField()

    class Meta:
        model = Contact
        ref_name = "ContactFull"
        fields = [
            "id", "party", "organisation", "unit", "position", "name_latin", "name_original",
            "script", "sectors", "forward_bases", "languages", "receives_itineraries",
            "is_party_fallback", "active_from", "active_to", "notes", "last_contacted_at",
            "channels",
        ]  # fmt: skip

    def get_channels(self, contact) -> list[dict]:
        """Every channel on the detail; none in lists (a list is not a read of details)."""
        if not self.context.get("detail"):
            return []
        return ChannelOutput(contact.channels.all(), many=True).data


class HotlineOutput(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()
    preferred = serializers.BooleanField()

    class Meta:
        ref_name = "ContactHotlineNumber"


class ContactHotlineOutput(serializers.ModelSerializer):
    """A contact as a monitor or team leader of its sector sees it: hotline numbers only."""

    party = serializers.SlugRelatedField(slug_field="code", read_only=True)
    organisation = serializers.CharField(source="organisation.name", allow_null=True)
    unit = serializers.CharField(source="organisation.unit", allow_null=True)
    sectors = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    hotlines = HotlineOutput(many=True)

    class Meta:
        model = Contact
        ref_name = "ContactHotline"
        fields = ["id", "party", "organisation", "unit", "sectors", "hotlines"]


CONTACT_FOR_ROLE = PolymorphicProxySerializer(
    component_name="ContactForRole",
    serializers=[ContactFullOutput, ContactHotlineOutput],
    resource_type_field_name=None,
)


class ContactCountOutput(serializers.Serializer):
    party = serializers.CharField()
    sector = serializers.CharField(allow_null=True)
    contacts = serializers.IntegerField()

    class Meta:
        ref_name = "ContactCount"


class HotlineCountOutput(serializers.Serializer):
    sector = serializers.CharField(allow_null=True)
    initiated_by = serializers.CharField()
    topic = serializers.ChoiceField(choices=LogEntry.Topic.choices)
    activations = serializers.IntegerField()

    class Meta:
        ref_name = "HotlineActivationCount"


class PeriodInput(serializers.Serializer):
    start = BoundedDateTimeSerializerField()
    end = BoundedDateTimeSerializerField()

    class Meta:
        ref_name = "LiaisonPeriodInput"

    def validate(self, data):
        if data["end"] <= data["start"]:
            raise serializers.ValidationError({"end": ["The end must be after the start."]})
        return data


class FollowUpOutput(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username")
    entry = serializers.IntegerField(source="entry_id")
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = FollowUp
        ref_name = "LiaisonFollowUp"
        fields = ["id", "entry", "action", "owner", "due_on", "done_at", "overdue"]

    def get_overdue(self, row) -> bool:
        from django.utils import timezone

        return row.done_at is None and row.due_on < timezone.localdate()


class LogEntryOutput(serializers.ModelSerializer):
    initiated_by = serializers.CharField()
    sector = serializers.CharField(source="sector.name", allow_null=True)
    participants = serializers.SerializerMethodField()
    mission_staff = serializers.SlugRelatedField(slug_field="username", many=True, read_only=True)
    recorded_by = serializers.CharField(source="recorded_by.username")
    follow_ups = FollowUpOutput(many=True)

    class Meta:
        model = LogEntry
        ref_name = "LiaisonLogEntry"
        fields = [
            "id", "occurred_at", "kind", "topic", "initiated_by", "sector", "participants",
            "mission_staff", "summary", "outcome", "recorded_by", "follow_ups",
        ]  # fmt: skip

    def get_participants(self, entry) -> list[dict]:
        return [{"id": c.pk, "name": c.display_name} for c in entry.participants.all()]


# --- Input ----------------------------------------------------------------------------------


class ChannelInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ContactChannel.Kind.choices)
    value = serializers.CharField(max_length=255)
    label = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    preferred = serializers.BooleanField(required=False, default=False)

    class Meta:
        ref_name = "ContactChannelInput"


class ContactInput(serializers.Serializer):
    party = serializers.SlugRelatedField(slug_field="code", queryset=Party.objects.all())
    organisation = serializers.PrimaryKeyRelatedField(
        queryset=Organisation.objects.all(), required=False, allow_null=True
    )
    position = serializers.CharField(max_length=160, required=False, allow_blank=True)
    name_latin = serializers.CharField(max_length=160, required=False, allow_blank=True)
    name_original = serializers.CharField(max_length=160, required=False, allow_blank=True)
    script = serializers.ChoiceField(
        choices=Contact.Script.choices, required=False, allow_blank=True
    )
    sectors = serializers.SlugRelatedField(
        slug_field="name", queryset=Province.objects.all(), many=True, required=False
    )
    forward_bases = serializers.SlugRelatedField(
        slug_field="name", queryset=ForwardBase.objects.all(), many=True, required=False
    )
    itinerary_sectors = serializers.SlugRelatedField(
        slug_field="name", queryset=Province.objects.all(), many=True, required=False
    )
    languages = serializers.CharField(max_length=128, required=False, allow_blank=True)
    receives_itineraries = serializers.BooleanField(required=False)
    is_party_fallback = serializers.BooleanField(required=False)
    active_from = MissionDateField(required=False, allow_null=True)
    active_to = MissionDateField(required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True)
    channels = ChannelInput(many=True, required=False)

    class Meta:
        ref_name = "ContactInput"

    def to_service(self, data):
        out = dict(data)
        if "channels" in out:
            out["channels"] = [services.ChannelSpec(**c) for c in out["channels"]]
        return out


class FollowUpInput(serializers.Serializer):
    action = serializers.CharField(max_length=255)
    owner = serializers.SlugRelatedField(slug_field="username", queryset=User.objects.all())
    due_on = MissionDateField()

    class Meta:
        ref_name = "LiaisonFollowUpInput"


class LogEntryInput(serializers.Serializer):
    occurred_at = ZonedDateTimeField()
    kind = serializers.ChoiceField(choices=LogEntry.Kind.choices)
    topic = serializers.ChoiceField(choices=LogEntry.Topic.choices)
    initiating_party = serializers.SlugRelatedField(
        slug_field="code", queryset=Party.objects.all(), required=False, allow_null=True,
        help_text="Party code; empty: the mission initiated it.",
    )  # fmt: skip
    sector = serializers.SlugRelatedField(
        slug_field="name", queryset=Province.objects.all(), required=False, allow_null=True
    )
    participants = serializers.PrimaryKeyRelatedField(
        queryset=Contact.objects.filter(anonymised_at__isnull=True), many=True, required=False
    )
    mission_staff = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.all(), many=True, required=False
    )
    summary = serializers.CharField()
    outcome = serializers.CharField(required=False, allow_blank=True)
    follow_ups = FollowUpInput(many=True, required=False)

    class Meta:
        ref_name = "LiaisonLogEntryInput"

    def to_service(self, data):
        out = dict(data)
        out["follow_ups"] = [services.FollowUpSpec(**f) for f in out.get("follow_ups", [])]
        return out


# --- Views ----------------------------------------------------------------------------------


class NeverStored:
    """Contacts' details must not be kept by a browser, a proxy or a tablet's cache."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        add_never_cache_headers(response)
        return response


def _require(request, *levels):
    if contact_access(request.user) not in levels:
        raise PermissionDenied("Liaison contacts are need-to-know: your role cannot see them.")


def _contact_response(request, contact, status_code=status.HTTP_200_OK):
    """A contact's details, shaped by the caller's access, and the read logged."""
    access = contact_access(request.user)
    services.contact_read_log(user=request.user, contacts=[contact], via=ContactAccessLog.Via.API)
    if access == Access.FULL:
        data = ContactFullOutput(contact, context={"detail": True}).data
    else:
        data = ContactHotlineOutput(contact).data
    return Response(data, status=status_code)


# The largest id a database column holds (a bigint): a larger one matches no row.
ID_MAX = 2**63 - 1


class ContactListInput(serializers.Serializer):
    search = serializers.CharField(required=False, allow_blank=True, max_length=200)
    party = serializers.CharField(required=False, allow_blank=True, max_length=64)
    sector = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX)

    class Meta:
        ref_name = "LiaisonContactListInput"


class LogEntryListInput(serializers.Serializer):
    contact = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX)

    class Meta:
        ref_name = "LiaisonLogEntryListInput"


class ContactListApi(NeverStored, generics.ListAPIView):
    """Contacts the caller may see (filters: `search`, `party`, `sector`)."""

    @property
    def ordering_fields(self):
        # Who sees no names cannot sort by them either: the order would tell them.
        if getattr(self, "swagger_fake_view", False):
            return ["name_latin"]
        return ["name_latin"] if contact_access(self.request.user) == Access.FULL else []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Contact.objects.none()
        # Read as a serializer: `?sector=abc` (or an id no database column holds) is a 400
        # naming the parameter, not a filter silently dropped or an overflow.
        params = ContactListInput(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return selectors.contact_list(
            user=self.request.user,
            search=params.validated_data.get("search", ""),
            party=params.validated_data.get("party", ""),
            sector=params.validated_data.get("sector"),
        )

    def get_serializer_class(self):
        if getattr(self, "swagger_fake_view", False):
            return ContactFullOutput
        if contact_access(self.request.user) == Access.FULL:
            return ContactFullOutput
        return ContactHotlineOutput

    @extend_schema(
        responses=PolymorphicProxySerializer(
            component_name="ContactListItemForRole",
            serializers=[ContactFullOutput, ContactHotlineOutput],
            resource_type_field_name=None,
            many=True,
        ),
        parameters=[
            OpenApiParameter("search", OpenApiTypes.STR, description="Name, position or unit."),
            OpenApiParameter("party", OpenApiTypes.STR, description="Party code."),
            OpenApiParameter("sector", OpenApiTypes.INT, description="Province id."),
        ],
        description=REDACTION + " Lists never include channels, except the hotline numbers "
        "a monitor sees (each such listing is logged as a read).",
    )
    def get(self, request, *args, **kwargs):
        _require(request, Access.FULL, Access.HOTLINE)
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        if contact_access(request.user) == Access.HOTLINE:
            services.contact_read_log(user=request.user, contacts=page, via="api")
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=ContactInput, responses={201: ContactFullOutput})
    def post(self, request):
        """Record a contact (liaison officers, coordinators, administrators)."""
        _require(request, Access.FULL)
        data = ContactInput(data=request.data)
        data.is_valid(raise_exception=True)
        contact = services.contact_create(by=request.user, **data.to_service(data.validated_data))
        contact = selectors.contact_get(user=request.user, pk=contact.pk)
        return _contact_response(request, contact, status.HTTP_201_CREATED)


class ContactDetailApi(NeverStored, APIView):
    def _contact(self, request, pk):
        _require(request, Access.FULL, Access.HOTLINE)
        contact = selectors.contact_get(user=request.user, pk=pk)
        if contact is None:
            # Another sector's contact does not exist for a monitor (no hint it is there), but
            # the attempt is worth an operator's attention.
            if Contact.objects.filter(pk=pk).exists():
                security_log.warning("hidden contact #%s asked for by %s: %s", pk,
                                     request.user.get_username(), request.path)  # fmt: skip
            raise NotFound()
        return contact

    @extend_schema(responses=CONTACT_FOR_ROLE, description=REDACTION + " Every read is logged.")
    def get(self, request, pk):
        return _contact_response(request, self._contact(request, pk))

    @extend_schema(request=ContactInput, responses=ContactFullOutput)
    def patch(self, request, pk):
        """Change a contact; `channels`, when given, replaces every channel."""
        _require(request, Access.FULL)
        contact = self._contact(request, pk)
        data = ContactInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.contact_update(
            by=request.user, contact=contact, **data.to_service(data.validated_data)
        )
        return _contact_response(request, selectors.contact_get(user=request.user, pk=pk))


class ContactSummaryApi(NeverStored, APIView):
    @extend_schema(
        responses=ContactCountOutput(many=True),
        description="How many current contacts each party has per sector; no names. Every "
        "mission role may read it (headquarters and duty officers see only this).",
    )
    def get(self, request):
        _require(request, Access.FULL, Access.HOTLINE, Access.COUNTS)
        return Response(ContactCountOutput(selectors.contact_counts(user=request.user),
                                           many=True).data)  # fmt: skip


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
        _require(request, Access.FULL)
        return super().get(request, *args, **kwargs)

    @extend_schema(request=LogEntryInput, responses={201: LogEntryOutput})
    def post(self, request):
        _require(request, Access.FULL)
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
        _require(request, Access.FULL)
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
        _require(request, Access.FULL, Access.COUNTS)
        period = PeriodInput(data=request.query_params)
        period.is_valid(raise_exception=True)
        rows = selectors.hotline_activation_counts(**period.validated_data)
        return Response(HotlineCountOutput(rows, many=True).data)


class FollowUpDoneApi(NeverStored, APIView):
    @extend_schema(request=None, responses=FollowUpOutput)
    def post(self, request, pk):
        """Mark a follow-up action done (idempotent: done stays done at its first time)."""
        _require(request, Access.FULL)
        follow_up = generics.get_object_or_404(FollowUp, pk=pk)
        follow_up = services.follow_up_done(by=request.user, follow_up=follow_up)
        return Response(FollowUpOutput(follow_up).data)

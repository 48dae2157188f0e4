"""The liaison API's serializers: what a contact, a log entry and a follow-up look like to
each access level (Output), and what a caller sends (Input), query parameters included.
Class names are the OpenAPI component names (through `ref_name`): keep them."""

from django.utils import timezone
from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers

from core.api.fields import MissionDateField, ZonedDateTimeField
from core.dates import BoundedDateTimeSerializerField
from core.models import ForwardBase, Province, User
from liaison import services
from liaison.models import (
    Contact,
    ContactChannel,
    FollowUp,
    LogEntry,
    Organisation,
    Party,
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


# --- Query parameters -----------------------------------------------------------------------

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

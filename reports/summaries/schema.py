"""The documented schema of a summary's JSON (`missionapp.daily-summary/1`).

These serializers are not used to build the JSON (reports.summaries.content does); they
describe it, so the OpenAPI schema at /api/schema/ documents the file headquarters download,
and the tests validate every produced JSON against the component generated from them.
Releasable files lack the fields marked "internal only".
"""

from rest_framework import serializers

INTERNAL_ONLY = "Internal level only (absent from the releasable file)."


def _meta(name):
    return type("Meta", (), {"ref_name": name})


class PeriodSchema(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    time_zone = serializers.CharField()
    label = serializers.CharField()
    Meta = _meta("SummaryPeriod")


class SectorCategorySchema(serializers.Serializer):
    sector = serializers.CharField()
    category = serializers.CharField()
    category_label = serializers.CharField()
    count = serializers.IntegerField()
    previous = serializers.IntegerField(help_text="The same count in the previous period.")
    change = serializers.IntegerField()
    Meta = _meta("SummarySectorCategory")


class SourcedCountSchema(serializers.Serializer):
    corroborated = serializers.IntegerField()
    party_reported = serializers.IntegerField()
    Meta = _meta("SummarySourcedCount")


class HarmSchema(serializers.Serializer):
    killed = SourcedCountSchema()
    injured = SourcedCountSchema()
    Meta = _meta("SummaryHarm")


class CasualtiesSchema(serializers.Serializer):
    civilian = HarmSchema()
    military = HarmSchema()
    Meta = _meta("SummaryCasualties")


class DamageSchema(serializers.Serializer):
    ref = serializers.CharField()
    location_phrase = serializers.CharField()
    damage = serializers.CharField()
    category = serializers.CharField()
    Meta = _meta("SummaryDamage")


class NotableSchema(serializers.Serializer):
    ref = serializers.CharField()
    observed_at = serializers.DateTimeField()
    category = serializers.CharField()
    location_phrase = serializers.CharField()
    sector = serializers.CharField()
    severity = serializers.IntegerField(min_value=1, max_value=5)
    verification = serializers.CharField()
    casualties = serializers.IntegerField()
    summary = serializers.CharField()
    description = serializers.CharField(required=False, help_text=INTERNAL_ONLY)
    reports = serializers.IntegerField(help_text="Reports of this one event.")
    Meta = _meta("SummaryNotable")


class AnnexRowSchema(serializers.Serializer):
    ref = serializers.CharField(help_text="The report's reference (KAP-2026-0142).")
    uuid = serializers.UUIDField(required=False, help_text=INTERNAL_ONLY)
    observed_at = serializers.DateTimeField()
    time_precision = serializers.CharField()
    sector = serializers.CharField()
    location_phrase = serializers.CharField()
    across_line = serializers.BooleanField(
        help_text="Seen across the line from the mission area; `sector` is the observer's."
    )
    observer_bearing_degrees = serializers.IntegerField(
        required=False, allow_null=True, help_text=f"From the observer. {INTERNAL_ONLY}"
    )
    observer_distance_m = serializers.IntegerField(
        required=False, allow_null=True, help_text=f"From the observer. {INTERNAL_ONLY}"
    )
    latitude = serializers.FloatField(help_text="Rounded to 0.01° in the releasable file.")
    longitude = serializers.FloatField(help_text="Rounded to 0.01° in the releasable file.")
    location_precision = serializers.CharField()
    category = serializers.CharField()
    category_label = serializers.CharField()
    event_type = serializers.CharField(help_text="ACLED event type.")
    sub_event_type = serializers.CharField(help_text="ACLED sub-event type.")
    severity = serializers.IntegerField(min_value=1, max_value=5)
    severity_label = serializers.CharField(required=False, help_text="e.g. 3 – Significant.")
    civilians_killed = serializers.IntegerField()
    civilians_injured = serializers.IntegerField()
    military_killed = serializers.IntegerField()
    military_injured = serializers.IntegerField()
    casualty_source = serializers.CharField(allow_blank=True)
    status = serializers.CharField()
    verification = serializers.CharField()
    observation_means = serializers.CharField()
    alleged_actor = serializers.CharField(allow_blank=True)
    alleged_by = serializers.CharField(allow_blank=True, required=False, help_text=INTERNAL_ONLY)
    description = serializers.CharField()
    damage = serializers.CharField(allow_blank=True)
    reporter = serializers.CharField(required=False, help_text=INTERNAL_ONLY)
    patrol = serializers.IntegerField(allow_null=True)
    event = serializers.IntegerField(allow_null=True)
    counted_as = serializers.CharField(help_text="The report this one is counted under.")
    attachments = serializers.ListField(child=serializers.CharField(), required=False,
                                        help_text=INTERNAL_ONLY)  # fmt: skip
    Meta = _meta("SummaryAnnexRow")


class IncidentsSchema(serializers.Serializer):
    total = serializers.IntegerField(help_text="Incidents, events counted once.")
    reports = serializers.IntegerField()
    previous_total = serializers.IntegerField()
    average_7d = serializers.FloatField()
    by_sector = serializers.DictField(child=serializers.IntegerField())
    by_sector_category = SectorCategorySchema(many=True)
    casualties = CasualtiesSchema()
    damage = DamageSchema(many=True)
    notable = NotableSchema(many=True)
    annex = AnnexRowSchema(many=True)
    Meta = _meta("SummaryIncidents")


class BaseRowSchema(serializers.Serializer):
    base = serializers.CharField()
    planned = serializers.IntegerField()
    notified = serializers.IntegerField()
    completed = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    aborted = serializers.IntegerField()
    acknowledged = serializers.DictField(
        child=serializers.IntegerField(), help_text="Party name → plans it acknowledged."
    )
    Meta = _meta("SummaryPatrolBase")


class PatrolsSchema(serializers.Serializer):
    parties = serializers.ListField(child=serializers.CharField())
    by_base = BaseRowSchema(many=True)
    urgent_overrides = serializers.ListField(child=serializers.DictField())
    route_deviations = serializers.ListField(child=serializers.DictField())
    Meta = _meta("SummaryPatrols")


class RestrictionsSchema(serializers.Serializer):
    total = serializers.IntegerField()
    by_category_actor = serializers.ListField(child=serializers.DictField())
    list = serializers.ListField(child=serializers.DictField())
    Meta = _meta("SummaryRestrictions")


class PartyNotificationsSchema(serializers.Serializer):
    party = serializers.CharField()
    sent = serializers.IntegerField()
    acknowledged = serializers.IntegerField()
    unacknowledged = serializers.IntegerField()
    failed = serializers.IntegerField()
    objections = serializers.IntegerField()
    Meta = _meta("SummaryPartyNotifications")


class NotificationsSchema(serializers.Serializer):
    by_party = PartyNotificationsSchema(many=True)
    unacknowledged = serializers.ListField(child=serializers.DictField())
    objections = serializers.ListField(child=serializers.DictField())
    Meta = _meta("SummaryNotifications")


class HotlineSchema(serializers.Serializer):
    sector = serializers.CharField()
    party = serializers.CharField(help_text="Who activated it: a party, or the mission.")
    topic = serializers.CharField()
    count = serializers.IntegerField()
    Meta = _meta("SummaryHotline")


class FollowUpSchema(serializers.Serializer):
    action = serializers.CharField()
    due_on = serializers.DateField()
    topic = serializers.CharField()
    owner = serializers.CharField(required=False, help_text=INTERNAL_ONLY)
    Meta = _meta("SummaryFollowUp")


class LiaisonSchema(serializers.Serializer):
    hotline = HotlineSchema(many=True)
    hotline_by_party = serializers.DictField(child=serializers.IntegerField())
    meetings = serializers.IntegerField()
    entries = serializers.IntegerField(help_text="Log entries of every kind.")
    overdue_follow_ups = FollowUpSchema(many=True)
    Meta = _meta("SummaryLiaison")


class TrendSchema(serializers.Serializer):
    days = serializers.ListField(child=serializers.DateField())
    by_sector = serializers.DictField(child=serializers.ListField(child=serializers.IntegerField()))
    Meta = _meta("SummaryTrend")


class AuditAnchorSchema(serializers.Serializer):
    seq = serializers.IntegerField(help_text="The last sealed audit entry when it was built.")
    mac = serializers.CharField(help_text="That entry's HMAC-SHA256 seal, hex.")
    key_id = serializers.CharField(help_text="The id of the key that sealed it (not the key).")
    at = serializers.DateTimeField(help_text="When the anchor was read (UTC).")
    Meta = _meta("SummaryAuditAnchor")


class DailySummaryContentSchema(serializers.Serializer):
    """The daily situation summary as JSON (`schema`: missionapp.daily-summary/1)."""

    schema = serializers.CharField()
    level = serializers.ChoiceField(["internal", "releasable"])
    title = serializers.CharField(help_text='"Daily Report NNN/YYYY".')
    number = serializers.IntegerField()
    year = serializers.IntegerField()
    period = PeriodSchema()
    counting_rules = serializers.ListField(child=serializers.CharField())
    highlights = serializers.ListField(child=serializers.CharField())
    incidents = IncidentsSchema()
    patrols = PatrolsSchema()
    restrictions = RestrictionsSchema()
    notifications = NotificationsSchema()
    liaison = LiaisonSchema()
    trend = TrendSchema()
    audit_anchor = AuditAnchorSchema(
        help_text="The audit chain's head when this revision was built: anyone holding this "
        "file can have the chain checked against it (`manage.py audit_verify --anchor "
        "SEQ:MAC`), which shows no record up to it was rewritten or removed since."
    )
    Meta = _meta("DailySummaryContent")

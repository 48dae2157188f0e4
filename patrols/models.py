"""Patrol plans, their itineraries, the parties told of them, and what happened on the way."""

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import F, Q

from core.audit.registry import audited


@audited()
class PatrolPlan(models.Model):
    """A planned patrol from a forward base along an itinerary known to both parties."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"
        APPROVED = "approved", "Approved"
        RETURNED = "returned", "Returned"
        NOTIFIED = "notified", "Notified"
        UNDER_WAY = "under_way", "Under way"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        ABORTED = "aborted", "Aborted"

    forward_base = models.ForeignKey(
        "core.ForwardBase", on_delete=models.PROTECT, related_name="patrol_plans"
    )
    team_leader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="led_patrols"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="authored_patrols",
        null=True,
        blank=True,
        help_text="Who wrote the plan; may not approve it (four eyes).",
    )
    monitors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="patrols_as_monitor"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    status_reason = models.TextField(
        blank=True, help_text="Why the plan was returned, cancelled or aborted."
    )
    purpose = models.CharField(max_length=255)
    escort = models.BooleanField("host-nation escort", default=False)
    escort_unit = models.CharField(max_length=128, blank=True)
    planned_departure = models.DateTimeField()
    planned_return = models.DateTimeField()
    route = models.LineStringField(srid=4326, null=True, blank=True)
    # Derived from the route by patrols.services, never typed.
    sectors = models.ManyToManyField("core.Province", blank=True, related_name="patrol_plans")
    nearby_settlements = models.ManyToManyField(
        "core.Settlement", blank=True, related_name="patrol_plans"
    )
    # The itinerary version the parties were (or are being) told of; 0 before approval.
    version = models.PositiveIntegerField(default=0)
    urgent_override = models.BooleanField(
        default=False,
        help_text="Approved with less than the notice period (flagged in the digest).",
    )
    override_justification = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    max_deviation_km = models.FloatField(
        null=True, blank=True, help_text="Farthest uploaded track point from the notified route."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Hotline calls, meetings and messages about this patrol (the link lives here because
    # liaison may not import patrols); `entry.patrols` from the liaison side.
    liaison_log = models.ManyToManyField("liaison.LogEntry", blank=True, related_name="patrols")

    class Meta:
        ordering = ["-planned_departure"]
        constraints = [
            models.CheckConstraint(
                condition=Q(planned_return__gt=F("planned_departure")),
                name="patrol_plan_returns_after_departure",
                violation_error_message="The planned return must be after the departure.",
            ),
            models.CheckConstraint(
                condition=Q(urgent_override=False) | ~Q(override_justification=""),
                name="patrol_plan_override_is_justified",
                violation_error_message="An urgent override needs a justification.",
            ),
        ]
        indexes = [
            # Dashboards and the calendar list a base's patrols by date.
            models.Index(fields=["forward_base", "planned_departure"], name="patrol_base_date_idx"),
            # The approval queue and the escalation job look plans up by status and date.
            models.Index(fields=["status", "planned_departure"], name="patrol_status_date_idx"),
        ]

    def __str__(self):
        return f"{self.forward_base} patrol {self.planned_departure:%Y-%m-%d} — {self.purpose}"

    # Which status may follow which. Amending an approved or notified itinerary sends it back
    # to "submitted" (the parties keep the version they have until the amendment is approved).
    TRANSITIONS = {
        Status.DRAFT: {Status.SUBMITTED, Status.CANCELLED},
        Status.SUBMITTED: {Status.APPROVED, Status.RETURNED, Status.CANCELLED},
        Status.RETURNED: {Status.SUBMITTED, Status.CANCELLED},
        Status.APPROVED: {Status.NOTIFIED, Status.SUBMITTED, Status.CANCELLED},
        Status.NOTIFIED: {Status.UNDER_WAY, Status.SUBMITTED, Status.CANCELLED},
        Status.UNDER_WAY: {Status.COMPLETED, Status.ABORTED},
        Status.COMPLETED: set(),
        Status.CANCELLED: set(),
        Status.ABORTED: set(),
    }
    EDITABLE = {Status.DRAFT, Status.RETURNED}
    AMENDABLE = {Status.APPROVED, Status.NOTIFIED}

    def move_to(self, status: str, reason: str = ""):
        """Change status if the lifecycle allows it; refuse with a clear error otherwise."""
        from django.core.exceptions import ValidationError

        current = self.Status(self.status)
        if status not in self.TRANSITIONS[current]:
            raise ValidationError(
                {
                    "status": [
                        f"A {current.label.lower()} plan cannot become "
                        f"{self.Status(status).label.lower()}."
                    ]
                }
            )
        self.status = status
        if reason:
            self.status_reason = reason

    @property
    def flagged_deviation(self) -> bool:
        return (self.max_deviation_km or 0) > settings.PATROL_DEVIATION_KM


@audited()
class Vehicle(models.Model):
    plan = models.ForeignKey(PatrolPlan, on_delete=models.CASCADE, related_name="vehicles")
    call_sign = models.CharField(max_length=32)
    plate = models.CharField(max_length=32)

    class Meta:
        ordering = ["call_sign"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "call_sign"], name="vehicle_call_sign_per_plan")
        ]

    def __str__(self):
        return f"{self.call_sign} ({self.plate})"


@audited()
class Waypoint(models.Model):
    """A named stop of the itinerary, in order, with its planned time."""

    plan = models.ForeignKey(PatrolPlan, on_delete=models.CASCADE, related_name="waypoints")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=128)
    location = models.PointField(srid=4326)
    planned_time = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["plan", "position"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "position"], name="waypoint_position_per_plan")
        ]

    def __str__(self):
        return f"{self.position}. {self.name}"


class ItineraryVersion(models.Model):
    """The itinerary as approved: frozen content that every party receives identically.

    A new version is made by each approval (the first, then each amendment). Notifications
    point at a version, never at the live plan, so what a party was told cannot drift.
    """

    plan = models.ForeignKey(PatrolPlan, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    content = models.JSONField(help_text="Route, waypoints, times, vehicles, escort, purpose.")
    content_sha256 = models.CharField(max_length=64)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField()
    accepted_warnings = models.JSONField(
        default=list,
        blank=True,
        help_text="Warnings the approving coordinator explicitly accepted.",
    )

    class Meta:
        ordering = ["plan", "number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="itinerary_version_unique")
        ]

    def __str__(self):
        return f"{self.plan} v{self.number}"


@audited()
class ItineraryNotification(models.Model):
    """One message to one party about one itinerary version: the outbox row.

    Unique per (version, party, purpose): a retry, a redelivered task or a second worker
    finds the row and never makes a second message.
    """

    class Purpose(models.TextChoices):
        ITINERARY = "itinerary", "Itinerary"
        CANCELLATION = "cancellation", "Cancellation"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        FAILED = "failed", "Failed"

    class AckMethod(models.TextChoices):
        LINK = "link", "Link in the message"
        PHONE = "phone", "Telephone / hotline"
        MEETING = "meeting", "In person"
        EMAIL = "email", "E-mail reply"
        OTHER = "other", "Other"

    version = models.ForeignKey(
        ItineraryVersion, on_delete=models.PROTECT, related_name="notifications"
    )
    # Parties are liaison data (liaison.Party); patrols may import liaison, not the reverse.
    party = models.ForeignKey(
        "liaison.Party", on_delete=models.PROTECT, related_name="notifications"
    )
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    recipients = models.JSONField(
        default=list,
        blank=True,
        help_text="Ids of the liaison contacts' e-mail channels, fixed when queued; the "
        "addresses are decrypted only when the message is sent.",
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(
        max_length=64, blank=True, help_text="The sending task that holds the claim."
    )
    queued_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    ack_method = models.CharField(max_length=16, choices=AckMethod.choices, blank=True)
    ack_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ack_note = models.TextField(blank=True, help_text="Who acknowledged, and how.")
    objection = models.TextField(blank=True)
    objection_recorded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["version", "party"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "party", "purpose"], name="notification_once_per_party"
            )
        ]
        indexes = [
            # The escalation job scans notifications still waiting for acknowledgement.
            models.Index(fields=["status", "escalated_at"], name="notification_pending_idx"),
        ]

    def __str__(self):
        return f"{self.get_purpose_display()} v{self.version.number} to {self.party}"


class TrackPoint(models.Model):
    """A GPS fix uploaded from the team leader's tablet; idempotent by its client UUID."""

    uuid = models.UUIDField(unique=True)
    plan = models.ForeignKey(PatrolPlan, on_delete=models.CASCADE, related_name="track")
    recorded_at = models.DateTimeField()
    location = models.PointField(srid=4326)

    class Meta:
        ordering = ["plan", "recorded_at"]

    def __str__(self):
        return f"{self.plan_id} @ {self.recorded_at:%H:%M}"


@audited()
class MovementRestriction(models.Model):
    """A restriction of the patrol's freedom of movement, in the OSCE mission's categories."""

    class Category(models.TextChoices):
        DENIAL = "denial", "Denial of access"
        CONDITIONAL = "conditional", "Conditional access"
        DELAY = "delay", "Delay"
        OTHER = "other", "Other impediment"

    class Actor(models.TextChoices):
        ARMENIAN_FORCES = "armenian_forces", "Armenian forces"
        AZERBAIJANI_FORCES = "azerbaijani_forces", "Azerbaijani forces"
        RUSSIAN_BORDER_GUARDS = "russian_border_guards", "Russian border guards"
        POLICE = "police", "Police"
        CIVILIANS = "civilians", "Civilians"
        OTHER = "other", "Other"

    plan = models.ForeignKey(PatrolPlan, on_delete=models.PROTECT, related_name="restrictions")
    category = models.CharField(max_length=16, choices=Category.choices)
    actor = models.CharField(max_length=24, choices=Actor.choices)
    occurred_at = models.DateTimeField()
    duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    location = models.PointField(srid=4326)
    location_phrase = models.CharField(max_length=160, blank=True)
    reason_given = models.TextField(blank=True)
    turned_back = models.BooleanField(default=False)
    description = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            # The digest counts restrictions per day.
            models.Index(fields=["occurred_at"], name="restriction_time_idx"),
        ]

    def __str__(self):
        return f"{self.get_category_display()} by {self.get_actor_display()}"

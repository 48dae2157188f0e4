from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import F, Q

from core.audit.registry import audited


@audited()
class PatrolPlan(models.Model):
    """A planned patrol from a forward base along an itinerary known to both parties.

    Only the core of the plan exists so far; approval, notifications to the parties and
    execution build on it.
    """

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
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    purpose = models.CharField(max_length=255)
    planned_departure = models.DateTimeField()
    planned_return = models.DateTimeField()
    route = models.LineStringField(srid=4326, null=True, blank=True)
    sectors = models.ManyToManyField("core.Province", blank=True, related_name="patrol_plans")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-planned_departure"]
        constraints = [
            models.CheckConstraint(
                condition=Q(planned_return__gt=F("planned_departure")),
                name="patrol_plan_returns_after_departure",
                violation_error_message="The planned return must be after the departure.",
            )
        ]
        indexes = [
            # Dashboards list a base's patrols by date.
            models.Index(fields=["forward_base", "planned_departure"], name="patrol_base_date_idx"),
        ]

    def __str__(self):
        local = self.planned_departure
        return f"{self.forward_base} patrol {local:%Y-%m-%d} — {self.purpose}"

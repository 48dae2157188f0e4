import uuid

from django.conf import settings
from django.contrib.gis.db import models
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Q

from core.audit.registry import audited


@audited()
class IncidentReport(models.Model):
    """A security incident seen or heard by monitors.

    Only the core of the report exists so far; offline filing, attachments and review build
    on it.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"
        REVIEWED = "reviewed", "Reviewed"

    class Category(models.TextChoices):
        SHELLING = "shelling", "Shelling / artillery"
        SMALL_ARMS = "small_arms", "Small-arms fire"
        DRONE = "drone", "Drone or air strike"
        EXPLOSION = "explosion", "Explosion / landmine / UXO"
        ARMED_CLASH = "armed_clash", "Armed clash"
        TROOP_MOVEMENT = "troop_movement", "Troop movement or deployment"
        FORTIFICATION = "fortification", "Fortification / engineering works"
        CIVILIAN_DAMAGE = "civilian_damage", "Damage to civilian property or infrastructure"
        VIOLENCE_CIVILIANS = "violence_civilians", "Violence against civilians"
        DETENTION = "detention", "Detention / abduction"
        AIRSPACE = "airspace", "Airspace violation"
        PROTEST = "protest", "Protest"
        OTHER = "other", "Other"

    # Set by the tablet when the monitor starts the report: a resend is recognised by it.
    uuid = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="incident_reports"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    observed_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    location = models.PointField(srid=4326)
    category = models.CharField(max_length=24, choices=Category.choices)
    severity = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    description = models.TextField()
    # Derived from the location by core.geography, never typed.
    sector = models.ForeignKey(
        "core.Province", on_delete=models.PROTECT, related_name="incident_reports"
    )
    location_phrase = models.CharField(max_length=160)
    patrol = models.ForeignKey(
        "patrols.PatrolPlan",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="incident_reports",
    )

    class Meta:
        ordering = ["-observed_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(severity__gte=1) & Q(severity__lte=5),
                name="incident_severity_1_to_5",
                violation_error_message="Severity must be between 1 and 5.",
            )
        ]
        indexes = [
            # The digest and the map read incidents by sector and day.
            models.Index(fields=["sector", "observed_at"], name="incident_sector_time_idx"),
            models.Index(fields=["author", "status"], name="incident_author_status_idx"),
        ]

    def __str__(self):
        return f"{self.get_category_display()} {self.location_phrase}"

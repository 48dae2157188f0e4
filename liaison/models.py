"""Liaison: the parties, their organisations, the people the mission talks to (personal data,
kept need-to-know), how to reach them, and the log of hotline calls, meetings and messages.

Contacts are personal data of people who may be at risk if exposed:
- channel values (phone numbers, e-mail addresses, call signs) are encrypted at rest
  (core.fields.EncryptedTextField) and redacted from the audit trail, as are names, position
  and notes, so that anonymising a contact also removes them from what the trail shows;
- who may read what is decided in liaison/selectors.py, and every read of a contact's details
  is recorded in ContactAccessLog.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.audit.registry import audited
from core.fields import EncryptedTextField

PERSONAL = ("name_latin", "name_original", "position", "notes")


@audited()
class Party(models.Model):
    """A side the mission deals with and tells of itineraries. Data, not code: a new
    counterpart is a row added in the admin, with no deployment."""

    code = models.SlugField(unique=True)
    name = models.CharField(max_length=128, unique=True)
    always_notified = models.BooleanField(
        default=False, help_text="Told of every itinerary (Armenia and Azerbaijan)."
    )
    sectors = models.ManyToManyField(
        "core.Province",
        blank=True,
        related_name="notified_parties",
        help_text="For a party not always notified: the sectors whose itineraries it receives.",
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-always_notified", "name"]
        verbose_name_plural = "parties"

    def __str__(self):
        return self.name


@audited()
class Organisation(models.Model):
    """A ministry, service, unit or authority of a party (also data, not code)."""

    party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="organisations")
    name = models.CharField(max_length=160)
    unit = models.CharField(max_length=160, blank=True)

    class Meta:
        ordering = ["party", "name", "unit"]
        constraints = [
            models.UniqueConstraint(
                fields=["party", "name", "unit"], name="organisation_unique_per_party"
            )
        ]

    def __str__(self):
        return f"{self.name} — {self.unit}" if self.unit else self.name


@audited(exclude=("last_contacted_at",), redact=PERSONAL)
class Contact(models.Model):
    """A person the mission talks to on one side. Personal data: see the module docstring."""

    class Script(models.TextChoices):
        ARMENIAN = "armenian", "Armenian"
        AZERBAIJANI = "azerbaijani", "Azerbaijani"
        RUSSIAN = "russian", "Russian (Cyrillic)"
        OTHER = "other", "Other"

    party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="contacts")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="contacts"
    )
    position = models.CharField("position or rank", max_length=160, blank=True)
    name_latin = models.CharField("name (Latin script)", max_length=160, blank=True)
    name_original = models.CharField("name (original script)", max_length=160, blank=True)
    script = models.CharField(max_length=16, choices=Script.choices, blank=True)
    sectors = models.ManyToManyField("core.Province", blank=True, related_name="contacts")
    forward_bases = models.ManyToManyField("core.ForwardBase", blank=True, related_name="contacts")
    languages = models.CharField(
        max_length=128, blank=True, help_text="Languages spoken, e.g. Armenian, Russian, English."
    )
    receives_itineraries = models.BooleanField("receives itinerary notifications", default=False)
    itinerary_sectors = models.ManyToManyField(
        "core.Province",
        blank=True,
        related_name="+",
        help_text="Sectors whose itineraries this contact receives; empty: every sector.",
    )
    is_party_fallback = models.BooleanField(
        "party's fallback recipient",
        default=False,
        help_text="Receives the party's itineraries of any sector that has no other recipient.",
    )
    active_from = models.DateField(null=True, blank=True)
    active_to = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    last_contacted_at = models.DateTimeField(
        null=True, blank=True, help_text="Last log entry with this contact (retention)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    anonymised_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["party", "name_latin", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(active_to__isnull=True)
                | Q(active_from__isnull=True)
                | Q(active_to__gte=models.F("active_from")),
                name="contact_active_to_after_from",
                violation_error_message="'Active to' must not be before 'active from'.",
            )
        ]
        indexes = [
            # The retention job scans contacts not yet anonymised by their last activity.
            models.Index(fields=["anonymised_at", "updated_at"], name="contact_retention_idx"),
        ]

    def __str__(self):
        # No name and no channel: str() ends up in the audit trail's object label, in logs
        # and in error reports. Pages that may show the name use `display_name`.
        return f"Contact #{self.pk}"

    @property
    def display_name(self) -> str:
        if self.anonymised_at:
            return f"Contact #{self.pk} (anonymised)"
        return self.name_latin or self.name_original or f"Contact #{self.pk}"

    def is_active_on(self, day) -> bool:
        return (
            self.anonymised_at is None
            and (self.active_from is None or self.active_from <= day)
            and (self.active_to is None or self.active_to >= day)
        )


@audited(redact=("value",))
class ContactChannel(models.Model):
    """One way to reach a contact. The value is encrypted at rest and never logged."""

    class Kind(models.TextChoices):
        PHONE = "phone", "Phone"
        EMAIL = "email", "E-mail"
        RADIO = "radio", "Radio call sign"
        HOTLINE = "hotline", "Hotline"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="channels")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    value = EncryptedTextField()
    label = models.CharField(max_length=64, blank=True, help_text="e.g. office, mobile, duty.")
    preferred = models.BooleanField(default=False)

    class Meta:
        ordering = ["contact", "kind", "-preferred", "pk"]

    def __str__(self):
        return f"{self.get_kind_display()} of contact #{self.contact_id}"

    def __repr__(self):
        return f"<ContactChannel #{self.pk} {self.kind} of contact #{self.contact_id}>"


class ContactAccessLog(models.Model):
    """Who read which contact's details, when and how. Kept when the contact is erased
    (`contact_ref` still names it), so an administrator can answer who saw whom."""

    class Via(models.TextChoices):
        PAGE = "page", "Page"
        API = "api", "API"
        EXPORT = "export", "Subject access export"

    contact = models.ForeignKey(
        Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="access_log"
    )
    contact_ref = models.PositiveBigIntegerField(help_text="The contact's id, kept after erasure.")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    via = models.CharField(max_length=8, choices=Via.choices)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [
            # The administrator reads one contact's accesses, newest first.
            models.Index(fields=["contact_ref", "at"], name="contact_access_idx"),
        ]

    def __str__(self):
        return f"{self.user_id} read contact #{self.contact_ref} ({self.via})"


@audited()
class LogEntry(models.Model):
    """One exchange with the parties: a hotline activation, a call, a meeting, a message.

    Linked patrols and incidents are held on their side (patrols.PatrolPlan.liaison_log and
    reports.IncidentReport.liaison_log, reverse names `patrols` and `incidents`), since
    liaison may not import them.
    """

    class Kind(models.TextChoices):
        HOTLINE = "hotline", "Hotline activation"
        PHONE = "phone", "Phone call"
        MEETING = "meeting", "Meeting"
        WRITTEN = "written", "Written message"

    class Topic(models.TextChoices):
        INCIDENT = "incident", "Incident clarification"
        DEESCALATION = "deescalation", "De-escalation request"
        ITINERARY = "itinerary", "Itinerary"
        WATER = "water", "Water and irrigation"
        ECOLOGY = "ecology", "Ecology"
        HUMANITARIAN = "humanitarian", "Humanitarian"
        MOVEMENT = "movement", "Freedom of movement"
        OTHER = "other", "Other"

    occurred_at = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    initiating_party = models.ForeignKey(
        Party,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="initiated_log_entries",
        help_text="Empty: the mission initiated it.",
    )
    sector = models.ForeignKey(
        "core.Province", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    participants = models.ManyToManyField(Contact, blank=True, related_name="log_entries")
    mission_staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="liaison_log_entries"
    )
    topic = models.CharField(max_length=16, choices=Topic.choices)
    summary = models.TextField()
    outcome = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        verbose_name_plural = "log entries"
        indexes = [
            # The summaries count entries of a kind over a period (hotline activations).
            models.Index(fields=["kind", "occurred_at"], name="log_entry_kind_time_idx"),
        ]

    def __str__(self):
        when = f"{self.occurred_at:%Y-%m-%d %H:%M}"
        return f"{self.get_kind_display()} {when} — {self.get_topic_display()}"

    @property
    def initiated_by(self) -> str:
        return self.initiating_party.name if self.initiating_party_id else "Mission"


@audited()
class FollowUp(models.Model):
    """An action promised in an exchange, with who does it and by when."""

    entry = models.ForeignKey(LogEntry, on_delete=models.CASCADE, related_name="follow_ups")
    action = models.CharField(max_length=255)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="liaison_follow_ups"
    )
    due_on = models.DateField()
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_on", "pk"]
        indexes = [
            # The dashboard and the digest list open follow-ups by due date.
            models.Index(fields=["done_at", "due_on"], name="follow_up_open_idx"),
        ]

    def __str__(self):
        return f"{self.action} (due {self.due_on:%Y-%m-%d})"

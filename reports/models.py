import uuid

from django.conf import settings
from django.contrib.gis.db import models
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Q

from core.audit.registry import audited


@audited()
class IncidentReport(models.Model):
    """A security incident seen or heard by monitors: filed from the tablet (offline first,
    once per UUID), amended by its author, reviewed and verified by duty officers.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"
        RETURNED = "returned", "Returned for information"
        REVIEWED = "reviewed", "Reviewed"
        REJECTED = "rejected", "Rejected"

    class TimePrecision(models.TextChoices):
        EXACT = "exact", "Exact"
        APPROXIMATE = "approximate", "Approximate"
        BETWEEN = "between", "Between two times"

    class LocationPrecision(models.TextChoices):
        EXACT = "exact", "Exact"
        APPROXIMATE = "approximate", "Approximate"
        AREA = "area", "Area"

    class ObservationMeans(models.TextChoices):
        SEEN = "seen", "Seen directly"
        HEARD = "heard", "Heard"
        LOCAL_AUTHORITY = "local_authority", "Reported by a local authority"
        RESIDENTS = "residents", "Reported by residents"
        ARMENIAN_FORCES = "armenian_forces", "Reported by Armenian forces"
        AZERBAIJANI_FORCES = "azerbaijani_forces", "Reported by Azerbaijani forces"
        MEDIA = "media", "Media"

    class Verification(models.TextChoices):
        UNVERIFIED = "unverified", "Unverified"
        PARTIAL = "partially_corroborated", "Partially corroborated"
        CORROBORATED = "corroborated", "Corroborated"
        VERIFIED = "verified", "Verified"

    class CasualtySource(models.TextChoices):
        CORROBORATED = "corroborated", "Corroborated by the mission"
        PARTY_REPORTED = "party_reported", "Reported by a party"

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

    # The ACLED event type and sub-event type of each category (ACLED codebook 2023), so
    # exports line up with the conflict datasets headquarters compare against.
    ACLED_TYPES = {
        Category.SHELLING: ("Explosions/Remote violence", "Shelling/artillery/missile attack"),
        Category.SMALL_ARMS: ("Battles", "Armed clash"),
        Category.DRONE: ("Explosions/Remote violence", "Air/drone strike"),
        Category.EXPLOSION: ("Explosions/Remote violence", "Remote explosive/landmine/IED"),
        Category.ARMED_CLASH: ("Battles", "Armed clash"),
        Category.TROOP_MOVEMENT: ("Strategic developments", "Other"),
        Category.FORTIFICATION: ("Strategic developments", "Other"),
        Category.CIVILIAN_DAMAGE: ("Strategic developments", "Looting/property destruction"),
        Category.VIOLENCE_CIVILIANS: ("Violence against civilians", "Attack"),
        Category.DETENTION: ("Violence against civilians", "Abduction/forced disappearance"),
        Category.AIRSPACE: ("Strategic developments", "Other"),
        Category.PROTEST: ("Protests", "Peaceful protest"),
        Category.OTHER: ("Strategic developments", "Other"),
    }

    class Severity(models.IntegerChoices):
        MINOR = 1, "1 – Minor"
        LIMITED = 2, "2 – Limited"
        SIGNIFICANT = 3, "3 – Significant"
        SERIOUS = 4, "4 – Serious"
        CRITICAL = 5, "5 – Critical"

    # Set by the tablet when the monitor starts the report: a resend is recognised by it.
    uuid = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    # What people call it: the author's forward base, the year observed (mission time) and
    # its number there (KAP-2026-0142), given when the server first stores the report.
    reference = models.CharField(max_length=24, unique=True, editable=False)
    # No index of its own: incident_author_status_idx (author, status) serves every lookup by
    # author, and one index fewer is one write fewer for every report filed.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="incident_reports",
        db_index=False,
    )  # fmt: skip
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    observed_at = models.DateTimeField()
    time_precision = models.CharField(
        max_length=16, choices=TimePrecision.choices, default=TimePrecision.EXACT
    )
    observed_until = models.DateTimeField(
        null=True, blank=True, help_text="End of the window when the time is 'between'."
    )
    received_at = models.DateTimeField(auto_now_add=True)
    location = models.PointField(srid=4326)
    location_precision = models.CharField(
        max_length=16, choices=LocationPrecision.choices, default=LocationPrecision.APPROXIMATE
    )
    # No spatial index: nothing searches by where the observer stood (it is shown with the
    # report), and keeping an R-tree/GiST entry cost every new report an index insert.
    observer_position = models.PointField(srid=4326, null=True, blank=True, spatial_index=False)
    direction_degrees = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(359)],
        help_text="From the observer to the incident, 0 = north.",
    )
    estimated_distance_m = models.PositiveIntegerField(null=True, blank=True)
    # Seen across the line from a position in the mission area (reports.services.placement):
    # its sector is the observer's, and its direction and distance are always known.
    across_line = models.BooleanField(
        "across the line", default=False, editable=False,
        help_text="The incident lies beyond the border; the observer stood in the mission area.",
    )  # fmt: skip
    observation_means = models.CharField(
        max_length=24, choices=ObservationMeans.choices, default=ObservationMeans.SEEN
    )
    explosions = models.PositiveIntegerField(null=True, blank=True)
    shots = models.PositiveIntegerField(null=True, blank=True)
    bursts = models.PositiveIntegerField(null=True, blank=True)
    weapons = models.CharField(max_length=255, blank=True)
    alleged_actor = models.CharField(max_length=128, blank=True)
    alleged_by = models.CharField(
        max_length=128, blank=True, help_text="Who says the alleged actor is responsible."
    )
    civilians_killed = models.PositiveIntegerField(default=0)
    civilians_injured = models.PositiveIntegerField(default=0)
    military_killed = models.PositiveIntegerField(default=0)
    military_injured = models.PositiveIntegerField(default=0)
    casualty_source = models.CharField(max_length=16, choices=CasualtySource.choices, blank=True)
    damage = models.TextField("damage description", blank=True)
    # Review (editorial status above) and verification are separate judgements.
    review_questions = models.TextField(
        blank=True, help_text="What the duty officer asks the reporter (shown on the tablet)."
    )
    rejection_reason = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    verification = models.CharField(
        max_length=24, choices=Verification.choices, default=Verification.UNVERIFIED
    )
    verification_note = models.TextField(blank=True)
    event = models.ForeignKey(
        "IncidentEvent",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports",
        help_text="Reports of one event are counted once.",
    )
    # Set when the flash alert went out: the claim that makes it go out once.
    flash_alerted_at = models.DateTimeField(null=True, blank=True)
    # Set when the report became due for its flash alert (submitted and serious), in the same
    # write; the worker sends every due alert in batches (reports.services.review).
    flash_alert_due_at = models.DateTimeField(null=True, blank=True)
    # Optimistic concurrency: the ETag of the report; every change increments it.
    version = models.PositiveIntegerField(default=1)
    submitted_at = models.DateTimeField(null=True, blank=True)
    category = models.CharField(max_length=24, choices=Category.choices)
    severity = models.PositiveSmallIntegerField(
        choices=Severity.choices, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    description = models.TextField()
    # Derived from the location by core.geography, never typed.
    # No index of its own: incident_sector_time_idx (sector, observed_at) serves it.
    sector = models.ForeignKey(
        "core.Province", on_delete=models.PROTECT, related_name="incident_reports",
        db_index=False,
    )  # fmt: skip
    location_phrase = models.CharField(max_length=160)
    patrol = models.ForeignKey(
        "patrols.PatrolPlan",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="incident_reports",
    )
    # Hotline calls, meetings and messages about this incident (held here because liaison
    # may not import reports); `entry.incidents` from the liaison side.
    liaison_log = models.ManyToManyField("liaison.LogEntry", blank=True, related_name="incidents")

    class Meta:
        ordering = ["-observed_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(severity__gte=1) & Q(severity__lte=5),
                name="incident_severity_1_to_5",
                violation_error_message="Severity must be between 1 and 5.",
            ),
            models.CheckConstraint(
                condition=~Q(time_precision="between")
                | Q(observed_until__isnull=False, observed_until__gt=models.F("observed_at")),
                name="incident_between_has_an_end_after_the_start",
                violation_error_message="Give the end of the time window, after its start.",
            ),
        ]
        indexes = [
            # The digest and the map read incidents by sector and day.
            models.Index(fields=["sector", "observed_at"], name="incident_sector_time_idx"),
            models.Index(fields=["author", "status"], name="incident_author_status_idx"),
            # Lists and the map's date filters read the newest observations first.
            models.Index(fields=["-observed_at"], name="incident_observed_idx"),
            # The review queue: submitted reports, longest waiting first.
            models.Index(fields=["status", "submitted_at"], name="incident_status_waiting_idx"),
            # The flash alerts still to send, read by every drain of the worker: a few rows
            # at most (partial), so keeping it costs a filing nothing once the alert is out.
            models.Index(
                fields=["flash_alert_due_at"],
                name="incident_flash_alert_due_idx",
                condition=Q(flash_alert_due_at__isnull=False, flash_alerted_at__isnull=True),
            ),
        ]

    def __str__(self):
        return f"{self.reference} {self.get_category_display()} {self.location_phrase}"

    # What its author may still change, two rules on purpose: a draft is changed in place
    # (the API's `editable`: the tablet's form stays open); a submitted or returned report is
    # amended, its previous content kept as a revision with the reason given. Reviewed and
    # rejected reports are closed to their author (a duty officer corrects them in the admin).
    EDITABLE = frozenset({Status.DRAFT})
    AMENDABLE = frozenset({Status.SUBMITTED, Status.RETURNED})

    @property
    def acled_event_type(self) -> str:
        return self.ACLED_TYPES[self.category][0]

    @property
    def acled_sub_event_type(self) -> str:
        return self.ACLED_TYPES[self.category][1]

    @property
    def casualties(self) -> int:
        return (self.civilians_killed + self.civilians_injured + self.military_killed
                + self.military_injured)  # fmt: skip


@audited()
class IncidentEvent(models.Model):
    """One event seen in several reports (two teams hear the same shelling)."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)
    note = models.TextField(blank=True)

    def __str__(self):
        return f"Event {self.pk}"


@audited()
class ReportRevision(models.Model):
    """A submitted report as it stood before an amendment: history is kept, never rewritten."""

    report = models.ForeignKey(IncidentReport, on_delete=models.CASCADE, related_name="revisions")
    version = models.PositiveIntegerField()
    content = models.JSONField()
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    changed_at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["report", "version"]
        constraints = [
            models.UniqueConstraint(fields=["report", "version"], name="report_revision_unique")
        ]

    def __str__(self):
        return f"{self.report.uuid} v{self.version}"


# The extension of a stored file follows the type found in its content (Attachment's
# content_type, set by reports.services.attachments from the bytes), never the name the
# client sent: an upload named `x.html` must not be stored, nor ever served, as HTML.
STORED_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp",
                     "application/pdf": "pdf"}  # fmt: skip


def _attachment_path(instance, filename, kind):
    # display and thumbnail are JPEGs we encoded ourselves.
    suffix = STORED_EXTENSIONS.get(instance.content_type, "bin") if kind == "original" else "jpg"
    return f"reports/{instance.report.uuid}/{kind}/{instance.sha256}.{suffix}"


def original_path(instance, filename):
    return _attachment_path(instance, filename, "original")


def display_path(instance, filename):
    return _attachment_path(instance, filename, "display")


def thumbnail_path(instance, filename):
    return _attachment_path(instance, filename, "thumbnail")


@audited()
class Attachment(models.Model):
    """A photo or file of a report, stored once per (report, content hash).

    Photos are re-encoded without their metadata (`display`, `thumbnail`); `original` keeps
    the camera's EXIF except its position (removed on the tablet and again on arrival: the
    README's photo policy), and only duty officers may download it. `sha256` names the bytes
    the client sent, which a resend is found by.
    """

    class Kind(models.TextChoices):
        IMAGE = "image", "Photo"
        PDF = "pdf", "PDF document"

    report = models.ForeignKey(IncidentReport, on_delete=models.CASCADE, related_name="attachments")
    sha256 = models.CharField(max_length=64)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    original_name = models.CharField(max_length=255, blank=True)
    # reports/<uuid>/original/<sha256>.<ext> is 122 characters: at Django's default of 100,
    # the storage cut the hash short and appended random letters to fit.
    original = models.FileField(upload_to=original_path, max_length=255)
    display = models.FileField(upload_to=display_path, blank=True, max_length=255)
    thumbnail = models.FileField(upload_to=thumbnail_path, blank=True, max_length=255)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["report", "uploaded_at"]
        constraints = [
            # A resent file is the same attachment: the database, not a check, says so.
            models.UniqueConstraint(fields=["report", "sha256"], name="attachment_once_per_report")
        ]

    def __str__(self):
        return f"{self.original_name or self.sha256[:12]} ({self.get_kind_display()})"


class PhotoUpload(models.Model):
    """A file of a report arriving in parts over a weak link (`reports.services.uploads`).

    One per (report, declared SHA-256): the tablet resumes by asking for it again and is told
    how many bytes the server holds (`received`, always a prefix of the file, kept in the
    database as `PhotoUploadPart` rows until the last byte, so that every web node sees
    them). The last part checks the SHA-256 and makes the attachment through
    `attachment_store`; `attachment` then says the upload is complete, and any part sent again
    is answered from it. Rows not touched for PHOTO_UPLOAD_EXPIRY_HOURS are deleted with their
    parts by a periodic job.
    """

    report = models.ForeignKey(IncidentReport, on_delete=models.CASCADE, related_name="uploads")
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=64, blank=True)
    name = models.CharField(max_length=255, blank=True)
    # Whether the monitor kept the camera's original (for the record; its location is
    # stripped either way, see the README's photo policy).
    original = models.BooleanField(default=False)
    received = models.PositiveBigIntegerField(default=0)
    attachment = models.ForeignKey(
        Attachment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # Asking for the upload of one file twice (a retry, a restarted browser) finds the
            # same upload and its offset: the database, not a check, says so.
            models.UniqueConstraint(
                fields=["report", "sha256"], name="photo_upload_once_per_report"
            ),
            models.CheckConstraint(
                condition=Q(received__lte=models.F("size")),
                name="photo_upload_received_within_size",
                violation_error_message="An upload cannot hold more bytes than its size.",
            ),
        ]
        indexes = [
            # The expiry job reads the uploads not touched since a time.
            models.Index(fields=["updated_at"], name="photo_upload_touched"),
        ]

    def __str__(self):
        return f"{self.name or self.sha256[:12]}: {self.received} of {self.size} bytes"


class PhotoUploadPart(models.Model):
    """Bytes of an unfinished `PhotoUpload`: `data` is the file from `offset` on. The parts of
    an upload follow one another from byte 0 without gap or overlap (each starts where the
    ones before end, decided under a lock on the upload), each at most
    DATA_UPLOAD_MAX_MEMORY_SIZE. Deleted when the file is attached, or with the upload."""

    upload = models.ForeignKey(PhotoUpload, on_delete=models.CASCADE, related_name="parts")
    offset = models.PositiveBigIntegerField()
    size = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = [
            # Two parts at one offset would be the same bytes twice: the database refuses it.
            models.UniqueConstraint(fields=["upload", "offset"], name="photo_upload_part_once"),
        ]

    def __str__(self):
        return f"bytes {self.offset}-{self.offset + self.size - 1} of {self.upload_id}"


# --- The daily situation summary ------------------------------------------------------------


class ImmutableRow(models.Model):
    """A row that is written once and never changed or deleted by the application: what
    headquarters read stays what it was (a later change is a new revision)."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError(f"{type(self).__name__} rows are immutable: make a new revision.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError(f"{type(self).__name__} rows are immutable and kept.")


class DailySummary(ImmutableRow):
    """The mission's daily situation summary for one period, cut-off to cut-off.

    Exactly one per period: `period_end` is unique, so a second scheduler or a retried task
    finds the row instead of making another. Its content lives in its revisions.
    """

    year = models.PositiveSmallIntegerField()
    # The day of the year of the cut-off, in the mission's time: "Daily Report 326/2026" is
    # the same number whoever builds it and whenever (a missed day leaves a gap, not a shift).
    number = models.PositiveSmallIntegerField()
    period_start = models.DateTimeField()
    period_end = models.DateTimeField(unique=True)
    time_zone = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_end"]
        verbose_name_plural = "daily summaries"
        constraints = [
            models.UniqueConstraint(fields=["year", "number"], name="summary_number_unique"),
            models.CheckConstraint(
                condition=Q(period_start__lt=models.F("period_end")),
                name="summary_period_start_before_end",
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def title(self) -> str:
        return f"Daily Report {self.number:03d}/{self.year}"


class SummaryRevision(ImmutableRow):
    """One version of a summary's content. Revision 1 is built at the cut-off; a report that
    arrives late for the period (a tablet offline for a day) makes revision 2, which says
    what changed and supersedes 1; every revision stays downloadable."""

    summary = models.ForeignKey(DailySummary, on_delete=models.PROTECT, related_name="revisions")
    number = models.PositiveSmallIntegerField()
    content = models.JSONField(help_text="The internal content; the releasable one is derived.")
    content_sha256 = models.CharField(max_length=64)
    changes = models.JSONField(default=list, help_text="What changed since the last revision.")
    built_at = models.DateTimeField(auto_now_add=True)
    # The audit chain head when it was built (core.audit.anchors.head_anchor): stated in the
    # PDF and JSON, which leave the system by e-mail, so the chain can be checked against it.
    # Outside `content` on purpose: it moves with every write and must not make a revision.
    audit_anchor = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["summary", "number"]
        constraints = [
            # Two builders racing for the same revision: the database lets one in.
            models.UniqueConstraint(fields=["summary", "number"], name="summary_revision_unique")
        ]

    def __str__(self):
        return f"{self.summary.title}, revision {self.number}"


class SummaryArtefact(ImmutableRow):
    """One stored file of a revision (PDF, JSON, CSV or GeoJSON, internal or releasable).

    Kept in the database with its revision, in the same transaction: a build killed half-way
    leaves nothing behind, and the bytes downloaded are the bytes whose SHA-256 is shown."""

    class Level(models.TextChoices):
        INTERNAL = "internal", "Internal"
        RELEASABLE = "releasable", "Releasable"

    class Format(models.TextChoices):
        PDF = "pdf", "PDF"
        JSON = "json", "JSON"
        CSV = "csv", "CSV (HXL, ACLED columns)"
        GEOJSON = "geojson", "GeoJSON"

    revision = models.ForeignKey(
        SummaryRevision, on_delete=models.PROTECT, related_name="artefacts"
    )
    level = models.CharField(max_length=16, choices=Level.choices)
    format = models.CharField(max_length=8, choices=Format.choices)
    data = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()

    class Meta:
        ordering = ["revision", "level", "format"]
        constraints = [
            models.UniqueConstraint(
                fields=["revision", "level", "format"], name="summary_artefact_unique"
            )
        ]

    def __str__(self):
        return f"{self.revision} ({self.level} {self.format})"


@audited()
class SummaryRecipient(models.Model):
    """Who receives the summary by e-mail, and at which distribution level."""

    name = models.CharField(max_length=128)
    email = models.EmailField(unique=True)
    level = models.CharField(max_length=16, choices=SummaryArtefact.Level.choices)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.get_level_display().lower()})"


class SummaryDelivery(models.Model):
    """One e-mail of one revision to one recipient: the outbox row that makes it go once."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    revision = models.ForeignKey(
        SummaryRevision, on_delete=models.PROTECT, related_name="deliveries"
    )
    recipient = models.ForeignKey(SummaryRecipient, on_delete=models.PROTECT, related_name="+")
    level = models.CharField(max_length=16, choices=SummaryArtefact.Level.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # Who is sending it (the task's id) and since when: a claim older than the lease
    # (SEND_CLAIM_LEASE_SECONDS) belonged to a worker that died, and is taken over.
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["revision", "recipient"], name="summary_delivery_once")
        ]


class SummaryDownload(models.Model):
    """Every download of a summary file: who, when, which file, through which door."""

    artefact = models.ForeignKey(SummaryArtefact, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    via = models.CharField(max_length=8, help_text="page or api")

    class Meta:
        ordering = ["-at"]


class ReferenceSequence(models.Model):
    """The last number given to a report of one forward base in one year (KAP-2026-0142).

    Taken by one upsert (reports.services.references), in the transaction that inserts the
    report: a resend whose insert fails on its UUID gives its number back, so the numbers of
    a base's year have no gaps.
    """

    prefix = models.CharField(max_length=8)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["prefix", "year"], name="reference_sequence_unique")
        ]

    def __str__(self):
        return f"{self.prefix}-{self.year}: {self.last}"

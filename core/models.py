"""Mission geography, users and device tokens.

The audit trail lives in core/audit/models.py and is re-exported here so that Django finds it.
"""

from django.contrib.auth.models import AbstractUser
from django.contrib.gis.db import models
from django.core.validators import RegexValidator
from django.db.models import F, Q
from knox.models import AbstractAuthToken

from core.audit.models import AuditChainHead, AuditEntry
from core.audit.registry import audited
from core.fields import EncryptedTextField

__all__ = [
    "AuditChainHead",
    "AuditEntry",
    "BorderSegment",
    "DeviceToken",
    "ForwardBase",
    "Province",
    "RecoveryCode",
    "SecondFactor",
    "RestrictedZone",
    "Settlement",
    "User",
]


@audited()
class Province(models.Model):
    """A first-level division of Armenia; the five on the border are the mission's sectors."""

    name = models.CharField(max_length=64, unique=True)
    name_hy = models.CharField("name in Armenian", max_length=64, blank=True)
    name_ru = models.CharField("name in Russian", max_length=64, blank=True)
    iso_code = models.CharField("ISO 3166-2", max_length=8, unique=True)
    is_sector = models.BooleanField(
        default=False, help_text="A border province the mission patrols (one of its sectors)."
    )
    area_km2 = models.FloatField(null=True, blank=True)
    wikidata = models.CharField(max_length=16, blank=True)
    geom = models.MultiPolygonField(srid=4326)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


@audited()
class BorderSegment(models.Model):
    """A stretch of the Armenia–Azerbaijan boundary along one Armenian province."""

    segment = models.CharField(max_length=128)
    province = models.ForeignKey(Province, on_delete=models.PROTECT, related_name="border")
    facing_units = models.CharField("Azerbaijani units facing", max_length=255, blank=True)
    length_km = models.FloatField()
    is_international = models.BooleanField(
        default=True,
        help_text="Part of the international line proper (not an exclave or enclave edge).",
    )
    geom = models.MultiLineStringField(srid=4326)

    class Meta:
        ordering = ["province__name", "segment"]
        constraints = [
            models.UniqueConstraint(
                fields=["segment", "province"], name="border_segment_unique_per_province"
            )
        ]

    def __str__(self):
        return f"{self.segment} — {self.province}"


@audited()
class Settlement(models.Model):
    """A named place incidents are described by: Armenian ones in their province, and the
    towns across the line (no province), so an incident seen across it is placed by its
    nearest settlement on either side."""

    name = models.CharField(max_length=64, unique=True)
    province = models.ForeignKey(
        Province, on_delete=models.PROTECT, related_name="settlements", null=True, blank=True
    )
    country = models.CharField(max_length=64, default="Armenia")
    location = models.PointField(srid=4326)
    population = models.PositiveIntegerField(null=True, blank=True)
    precision = models.CharField(max_length=64, blank=True)
    source = models.CharField(max_length=255, blank=True)
    licence = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


@audited()
class ForwardBase(models.Model):
    name = models.CharField(max_length=64, unique=True)
    # The first part of its reports' references (KAP-2026-0142).
    code = models.CharField(
        max_length=3,
        unique=True,
        validators=[RegexValidator(r"^[A-Z]{3}$", "Three capital letters, e.g. KAP.")],
        help_text="Three letters that begin the references of its reports (KAP-2026-0142).",
    )
    settlement = models.OneToOneField(
        Settlement, on_delete=models.PROTECT, related_name="forward_base"
    )
    province = models.ForeignKey(Province, on_delete=models.PROTECT, related_name="bases")
    location = models.PointField(srid=4326)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


@audited()
class RestrictedZone(models.Model):
    """An area patrols must not enter while the zone is valid (mines, military works, ...)."""

    class Reason(models.TextChoices):
        MINES = "mines", "Mines or unexploded ordnance"
        MILITARY = "military", "Military positions or works"
        HOST_NATION = "host_nation", "Closed by host-nation authorities"
        SECURITY = "security", "Security situation"
        OTHER = "other", "Other"

    name = models.CharField(max_length=128)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    details = models.TextField(blank=True)
    geom = models.MultiPolygonField(srid=4326)
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField(
        null=True, blank=True, help_text="Leave empty for a zone with no end date."
    )
    created_by = models.ForeignKey(
        "core.User", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-valid_from", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gt=F("valid_from")),
                name="restricted_zone_valid_until_after_valid_from",
                violation_error_message="The zone must end after it starts.",
            )
        ]

    def __str__(self):
        return self.name


@audited(exclude=("last_login",), redact=("password",))
class User(AbstractUser):
    """A mission member; what they may do comes from their role groups (core/roles.py)."""

    forward_base = models.ForeignKey(
        ForwardBase,
        on_delete=models.PROTECT,
        related_name="members",
        null=True,
        blank=True,
        help_text="The forward base the member works from (none for headquarters staff).",
    )

    @property
    def role_names(self):
        """The user's role names, sorted: read with the permissions (one query, cached on
        this user object for its request, as Django caches permissions), not once per call
        (the pages ask for them many times each)."""
        names = getattr(self, "_role_names", None)
        if names is None:
            from core.roles import load_roles_and_permissions

            names = load_roles_and_permissions(self)
        return sorted(names)

    # Permission checks read the role names and all permissions in one query (core.roles)
    # instead of ModelBackend's two, then ModelBackend answers from its cache as usual.
    def _load_permissions(self, obj):
        wanted = obj is None and self.is_active and not self.is_superuser
        if wanted and not hasattr(self, "_perm_cache"):
            from core.roles import load_roles_and_permissions

            load_roles_and_permissions(self)

    def has_perm(self, perm, obj=None):
        if self.is_active and self.is_superuser:
            return perm in self._operator_permissions()
        self._load_permissions(obj)
        return super().has_perm(perm, obj)

    def has_module_perms(self, app_label):
        if self.is_active and self.is_superuser:
            return any(p.startswith(f"{app_label}.") for p in self._operator_permissions())
        self._load_permissions(None)
        return super().has_module_perms(app_label)

    def _operator_permissions(self) -> set[str]:
        """A superuser holds the Administrator role's permissions, not every permission:
        it is the system's operator, and filing, verifying or downloading originals are
        mission actions that need the mission role (core.roles.has_role says the same).
        Read once per user object, like Django's own permission cache."""
        cached = getattr(self, "_operator_perm_cache", None)
        if cached is None:
            from django.contrib.auth.models import Permission

            from core.roles import Role

            rows = Permission.objects.filter(
                Q(group__name=Role.ADMINISTRATOR) | Q(group__user=self) | Q(user=self)
            ).values_list("content_type__app_label", "codename")
            cached = self._operator_perm_cache = {f"{app}.{code}" for app, code in rows}
        return cached

    def get_all_permissions(self, obj=None):
        self._load_permissions(obj)
        return super().get_all_permissions(obj)

    def get_user_permissions(self, obj=None):
        self._load_permissions(obj)
        return super().get_user_permissions(obj)

    def get_group_permissions(self, obj=None):
        self._load_permissions(obj)
        return super().get_group_permissions(obj)

    def set_unusable_password(self):
        # An administrator disabling the password: as much a credentials change as a new one.
        super().set_unusable_password()
        self._password_disabled = True

    def save(self, *args, **kwargs):
        # set_password() leaves the new password in `_password` until the save: every path
        # that changes one (the password page, the admin's form, `manage.py changepassword`,
        # the demo's reset) ends here. Django's own session check already ends the other
        # sessions (their hash no longer matches); the device tokens are revoked here.
        password_changed = (
            self._password is not None or self.__dict__.pop("_password_disabled", False)
        ) and self.pk is not None
        super().save(*args, **kwargs)
        if password_changed:
            from core.services import credentials_changed

            credentials_changed(user=self)


@audited(redact=("secret",))
class SecondFactor(models.Model):
    """A member's authenticator app: a time-based one-time password (TOTP, RFC 6238) shared
    secret, encrypted at rest (someone who reads the database does not get the codes)."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="second_factor")
    secret = EncryptedTextField(help_text="The shared secret, base32, encrypted at rest.")
    # None while the member has been shown the secret but has not typed a code from it yet.
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The last 30-second step whose code was accepted: a code is good once, not for its whole
    # validity (one seen over a shoulder or in a proxy's log cannot be replayed).
    last_step = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"Second factor of {self.user}"


@audited(redact=("digest",))
class RecoveryCode(models.Model):
    """A one-time recovery code, for a member who lost the authenticator app: only its
    SHA-256 is kept (a code is 80 random bits, so the digest cannot be reversed)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    # Unique: the lookup at login is by digest (indexed by the constraint).
    digest = models.CharField(max_length=64, unique=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Recovery code of {self.user}"


@audited(redact=("digest",), key="token_key")
class DeviceToken(AbstractAuthToken):
    """An API token for one device (a monitor's tablet): expires, and can be revoked alone."""

    device_name = models.CharField(max_length=100)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # Whether the login that made it gave a second factor: a token made without one stops
    # working when the member's role comes to need one (core.authentication).
    second_factor = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"{self.user} — {self.device_name}"

"""Admin for incident reports: review and correct what the tablets filed.

Reports are filed from the tablets through reports.services.filing, which derives the sector
and the location phrase from the point; a location corrected here is derived again the same
way.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from core.admin import TIME_ZONE_NOTE, MissionMapAdmin, ReadOnlyAdminMixin, local_time_column
from core.dates import check_mission_years
from core.roles import Role, has_role
from patrols.selectors import patrol_plan_list
from reports.models import DailySummary, IncidentReport, SummaryDownload, SummaryRecipient
from reports.selectors import incident_report_list
from reports.services import filing


class IncidentReportAdminForm(forms.ModelForm):
    """A duty officer's correction of a filed report, made through
    reports.services.filing.incident_report_correct: the version the officer saw travels with
    the form, so a correction made on an older version is refused instead of overwriting the
    author's amendment, and a correction bumps the version the tablet must then match."""

    seen_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    class Meta:
        model = IncidentReport
        fields = ["observed_at", "category", "severity", "description", "location", "patrol"]

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        if "observed_at" in self.fields:
            self.fields["observed_at"].validators.append(check_mission_years)
            clean = self.fields["observed_at"].clean

            def bounded(value, clean=clean):
                try:
                    return clean(value)
                except OverflowError:  # year 1 in Yerevan time has no UTC moment
                    raise ValidationError(
                        "The date must lie within the mission's years.", code="overflow"
                    ) from None

            self.fields["observed_at"].clean = bounded
        if self.instance.pk and not self.is_bound:
            self.fields["seen_version"].initial = self.instance.version

    def clean(self):
        cleaned = super().clean()
        if self.errors or self.request is None:
            return cleaned
        fields = {n: cleaned[n] for n in self.changed_data if n in filing.CORRECTABLE}
        stored = self.instance.observed_at
        if fields.get("observed_at") == stored.replace(microsecond=0):
            # The admin's time input shows whole seconds: an untouched time is not a change
            # (storing it truncated would make the tablet's resend differ: 409).
            del fields["observed_at"]
        try:
            self.corrected = filing.incident_report_correct(
                report=self.instance, by=self.request.user,
                expected_version=cleaned["seen_version"], fields=fields,
            )  # fmt: skip
        except filing.StaleVersion as stale:
            raise forms.ValidationError(
                f"The report changed while you were correcting it (now version "
                f"{stale.report.version}). Reload the page and correct it again."
            ) from None
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for name, errors in error.error_dict.items():
                    self.add_error(name if name in self.fields else None, errors)
            else:
                self.add_error(None, error)
        return cleaned


@admin.register(IncidentReport)
class IncidentReportAdmin(MissionMapAdmin):
    form = IncidentReportAdminForm
    list_display = [
        "reference",
        local_time_column("observed_at", "observed"),
        "category",
        "severity",
        "sector",
        "location_phrase",
        "author",
        "status",
    ]
    list_filter = ["status", "category", "severity", "sector", "across_line", "observed_at"]
    search_fields = ["=reference", "description", "location_phrase", "author__username", "=uuid"]
    list_select_related = ["author", "sector"]
    date_hierarchy = "observed_at"
    readonly_fields = ["reference", "uuid", "author", "status", "version", "sector",
                       "across_line", "location_phrase", "observer_position",
                       "received_at"]  # fmt: skip
    fieldsets = [
        (None, {"fields": ["category", "severity", "description", "status"]}),
        (
            "When",
            {
                "fields": ["observed_at", "received_at"],
                "description": TIME_ZONE_NOTE,
            },
        ),
        (
            "Where",
            {
                "fields": [
                    "location",
                    "sector",
                    "across_line",
                    "location_phrase",
                    "observer_position",
                ],
                "description": "Move the point to correct it: sector and phrase follow.",
            },
        ),
        (
            "Record",
            {"fields": ["reference", "uuid", "author", "version", "patrol", "seen_version"]},
        ),
    ]

    def has_add_permission(self, request):
        return False  # reports are filed from the tablets (reports.services.filing)

    def get_queryset(self, request):
        # What the pages show this person (a monitor's drafts are the monitor's alone).
        return incident_report_list(user=request.user).prefetch_related(None)

    def has_change_permission(self, request, obj=None):
        # Corrections are a duty officer's, through incident_report_correct; never a draft's.
        if not has_role(request.user, Role.DUTY_OFFICER):
            return False
        return obj is None or obj.status != IncidentReport.Status.DRAFT

    def has_delete_permission(self, request, obj=None):
        return False  # a filed report is rejected through the review, never deleted

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)

        class WithRequest(form):
            def __init__(self, *args, **kw):
                super().__init__(*args, request=request, **kw)

        return WithRequest

    def save_model(self, request, obj, form, change):
        # The correction was made (locked, versioned, audited) by the service in the form's
        # clean(); saving the form's copy again would bypass it.
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        pass  # no related objects are edited here

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "patrol":
            # The plans this person may see (no one else's draft), with their forward base
            # (a plan's name includes it); the service checks the author may link it.
            kwargs["queryset"] = patrol_plan_list(user=request.user).prefetch_related(None)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


# --- Daily summaries ------------------------------------------------------------------------


@admin.register(SummaryRecipient)
class SummaryRecipientAdmin(admin.ModelAdmin):
    """The distribution list: each recipient gets every new revision once, at their level."""

    list_display = ["name", "email", "level", "active"]
    list_filter = ["level", "active"]
    search_fields = ["name", "email"]


@admin.register(DailySummary)
class DailySummaryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "period_start", "period_end", "created_at"]
    date_hierarchy = "period_end"


@admin.register(SummaryDownload)
class SummaryDownloadAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "user", "artefact", "via"]
    list_filter = ["via"]
    list_select_related = ["user", "artefact__revision__summary"]
    date_hierarchy = "at"

    def get_queryset(self, request):
        # The files' bytes are not needed to list who downloaded what.
        return super().get_queryset(request).defer("artefact__data", "artefact__revision__content")

"""Forms of the patrol pages. They check what a person typed; the patrol services decide.

Times are typed in `datetime-local` inputs and mean Asia/Yerevan time (settings.TIME_ZONE),
whatever zone the browser is in: the mission plans in Yerevan time.
"""

import hashlib
import re
import zoneinfo
from datetime import date, timedelta

from django import forms
from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.utils import timezone

from core import dates
from core.forms import CheckedLeafletWidget, CheckedLineStringField
from core.models import ForwardBase, User
from core.roles import Role
from patrols.models import ItineraryNotification
from patrols.services import VehicleSpec, WaypointSpec, safety

LOCAL_INPUT_FORMAT = "%Y-%m-%dT%H:%M"
WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")


def mission_zone():
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


class MissionDateTimeField(forms.DateTimeField):
    """A `datetime-local` input read and shown in the mission's zone (Asia/Yerevan)."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT_FORMAT)
    input_formats = [LOCAL_INPUT_FORMAT, "%Y-%m-%dT%H:%M:%S"]
    # 0001-01-01T00:00 in Yerevan has no UTC moment to store: a field error, not a 500; and
    # a stored time lies within the mission's years, as the API's do.
    default_validators = [dates.check_mission_years]

    def to_python(self, value):
        try:
            value = super().to_python(value)
        except OverflowError as exc:
            raise ValidationError(dates.RANGE_MESSAGE) from exc
        if value is None:
            return None
        # Django would use the active zone; the mission's is meant, said on every label.
        naive = timezone.make_naive(value, timezone.get_current_timezone())
        return timezone.make_aware(naive, mission_zone())

    def prepare_value(self, value):
        if isinstance(value, str) or value is None:
            return value
        if timezone.is_aware(value):
            value = timezone.localtime(value, mission_zone())
        return value.strftime(LOCAL_INPUT_FORMAT)


def person_label(user):
    return user.get_full_name() or user.get_username()


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return person_label(obj)


class PeopleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return person_label(obj)


def members(base: ForwardBase, role: Role):
    return (
        User.objects.filter(forward_base=base, is_active=True, groups__name=role.value)
        .distinct()
        .order_by("last_name", "first_name", "username")
    )


class PlanForm(forms.Form):
    purpose = forms.CharField(max_length=255, label="Purpose")
    planned_departure = MissionDateTimeField(label=f"Departure ({settings.TIME_ZONE})")
    planned_return = MissionDateTimeField(label=f"Return ({settings.TIME_ZONE})")
    team_leader = PersonChoiceField(queryset=User.objects.none(), label="Team leader")
    monitors = PeopleChoiceField(
        queryset=User.objects.none(),
        required=False,
        label="Monitors",
        widget=forms.CheckboxSelectMultiple,
    )
    escort = forms.BooleanField(required=False, label="Host-nation escort")
    escort_unit = forms.CharField(max_length=128, required=False, label="Escort unit")
    route = CheckedLineStringField(
        required=False,
        label="Route",
        widget=CheckedLeafletWidget(),
        help_text="Draw the line with the line tool; leave it empty to join the waypoints.",
    )

    def __init__(self, *args, base: ForwardBase, **kwargs):
        super().__init__(*args, **kwargs)
        self.base = base
        self.fields["team_leader"].queryset = members(base, Role.TEAM_LEADER)
        self.fields["monitors"].queryset = members(base, Role.MONITOR)

    def clean(self):
        data = super().clean()
        departure, back = data.get("planned_departure"), data.get("planned_return")
        if departure and back and back <= departure:
            self.add_error("planned_return", "The planned return must be after the departure.")
        if data.get("escort") and not data.get("escort_unit", "").strip():
            self.add_error("escort_unit", "Name the host-nation unit escorting the patrol.")
        return data

    def plan_fields(self) -> dict:
        """What patrol_plan_create/update/amend take as plan fields."""
        data = self.cleaned_data
        return {
            name: data[name]
            for name in (
                "purpose", "planned_departure", "planned_return", "team_leader", "escort",
                "escort_unit",
            )
        }  # fmt: skip


class WaypointForm(forms.Form):
    name = forms.CharField(max_length=128, label="Name")
    # Django's FloatField refuses "nan" and "inf"; min/max bound the rest.
    lat = forms.FloatField(min_value=-90, max_value=90, label="Latitude")
    lon = forms.FloatField(min_value=-180, max_value=180, label="Longitude")
    planned_time = MissionDateTimeField(required=False, label=f"Time ({settings.TIME_ZONE})")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lat"].widget.attrs.update(step="any", inputmode="decimal")
        self.fields["lon"].widget.attrs.update(step="any", inputmode="decimal")


class VehicleForm(forms.Form):
    call_sign = forms.CharField(max_length=32, label="Call sign")
    plate = forms.CharField(max_length=32, label="Plate")


class _RowsFormSet(forms.BaseFormSet):
    """Rows of a table: a row left blank (or ticked "Remove") is dropped, the rest kept in
    order. Every row may be blank, including those the edit page filled from the plan."""

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "empty_permitted": True}

    def kept(self):
        return [
            form
            for form in self.forms
            if form.has_changed() and not (self.can_delete and self._should_delete_form(form))
        ]


class WaypointFormSet(_RowsFormSet):
    def specs(self) -> list[WaypointSpec]:
        return [
            WaypointSpec(
                name=f.cleaned_data["name"],
                location=Point(f.cleaned_data["lon"], f.cleaned_data["lat"], srid=4326),
                planned_time=f.cleaned_data.get("planned_time"),
            )
            for f in self.kept()
        ]


class VehicleFormSet(_RowsFormSet):
    def clean(self):
        super().clean()
        seen = set()
        for form in self.kept():
            call_sign = (form.cleaned_data.get("call_sign") or "").strip()
            if call_sign.upper() in seen:
                form.add_error("call_sign", "Two vehicles have this call sign.")
            seen.add(call_sign.upper())

    def specs(self) -> list[VehicleSpec]:
        return [
            VehicleSpec(call_sign=f.cleaned_data["call_sign"], plate=f.cleaned_data["plate"])
            for f in self.kept()
        ]


def waypoint_formset(*args, extra=2, **kwargs):
    cls = forms.formset_factory(WaypointForm, formset=WaypointFormSet, extra=extra,
                                can_delete=True)  # fmt: skip
    return cls(*args, prefix="waypoints", **kwargs)


def vehicle_formset(*args, extra=1, **kwargs):
    cls = forms.formset_factory(VehicleForm, formset=VehicleFormSet, extra=extra,
                                can_delete=True)  # fmt: skip
    return cls(*args, prefix="vehicles", **kwargs)


class ReasonForm(forms.Form):
    reason = forms.CharField(label="Reason", widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, label="Reason", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].label = label


URGENT_MISSING = "Departure is inside the notice period: record why this patrol is urgent."


def warning_key(finding: safety.Finding) -> str:
    # A finding has no id: its code and wording name it, so a box ticked for one warning is
    # not counted for another that appeared since the page was shown.
    digest = hashlib.sha256(finding.message.encode()).hexdigest()[:10]
    return f"{finding.code}:{digest}"


class ApprovalForm(forms.Form):
    accept_warnings = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Warnings"
    )
    urgent_justification = forms.CharField(
        required=False,
        label="Why this patrol is urgent",
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, findings: list[safety.Finding], **kwargs):
        super().__init__(*args, **kwargs)
        self.warnings = [f for f in findings if f.severity == safety.WARNING]
        self.short_notice = any(f.severity == safety.OVERRIDE for f in findings)
        self.fields["accept_warnings"].choices = [
            (warning_key(f), f"I accept: {f.message}") for f in self.warnings
        ]
        if self.short_notice:
            self.fields["urgent_justification"].required = True
            self.fields["urgent_justification"].error_messages["required"] = URGENT_MISSING
        else:
            del self.fields["urgent_justification"]

    # The service checks both again as it approves; checked here too so that the coordinator
    # sees every missing answer at once rather than one per attempt.
    def clean_accept_warnings(self):
        ticked = set(self.cleaned_data["accept_warnings"])
        missing = [f for f in self.warnings if warning_key(f) not in ticked]
        if missing:
            raise ValidationError([f"Accept this warning to approve: {f.message}" for f in missing])
        return list(ticked)

    def clean_urgent_justification(self):
        value = self.cleaned_data["urgent_justification"].strip()
        if not value:
            raise ValidationError(URGENT_MISSING)
        return value

    def accepted_codes(self) -> list[str]:
        """The warning codes the service takes (every warning was ticked to get here)."""
        return sorted({f.code for f in self.warnings})


class AcknowledgementForm(forms.Form):
    method = forms.ChoiceField(
        label="How",
        choices=[("", "—")]
        + [
            (value, label)
            for value, label in ItineraryNotification.AckMethod.choices
            if value != ItineraryNotification.AckMethod.LINK
        ],
    )
    note = forms.CharField(label="Who acknowledged", widget=forms.Textarea(attrs={"rows": 2}))
    at = MissionDateTimeField(required=False, label=f"When ({settings.TIME_ZONE}; empty: now)")


class ObjectionForm(forms.Form):
    text = forms.CharField(label="The party's objection", widget=forms.Textarea(attrs={"rows": 2}))


def current_week() -> str:
    year, week, _ = timezone.localtime(timezone.now(), mission_zone()).isocalendar()
    return f"{year}-W{week:02d}"


class CalendarForm(forms.Form):
    base = forms.ModelChoiceField(
        queryset=ForwardBase.objects.order_by("name"),
        required=False,
        empty_label="All forward bases",
        label="Forward base",
    )
    week = forms.CharField(required=False, label="Week")

    def clean_week(self):
        value = (self.cleaned_data.get("week") or "").strip() or current_week()
        match = WEEK_RE.match(value)
        if not match:
            raise ValidationError("Give the week as YYYY-Www, for example 2025-W07.")
        try:
            monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
        except ValueError as exc:
            raise ValidationError(f"{value} is not a week of the year.") from exc
        # The page shows the weeks before and after: 9999-W52 would overflow the calendar.
        if not (dates.in_range(monday) and dates.in_range(monday + timedelta(days=6))):
            raise ValidationError(
                f"Give a week between {dates.EARLIEST.year}-W01 and {dates.LATEST.year}-W52."
            )
        return value

    def monday(self) -> date:
        year, week = WEEK_RE.match(self.cleaned_data["week"]).groups()
        return date.fromisocalendar(int(year), int(week), 1)

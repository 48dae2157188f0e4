"""Forms of the liaison pages. They check what a person typed; liaison.services decides.

Times are typed in `datetime-local` inputs and mean the mission's time (settings.TIME_ZONE,
Django's current time zone), whatever zone the browser is in.
"""

from django import forms
from django.conf import settings

from core.dates import check_mission_years
from core.models import Province, User
from liaison.models import LogEntry, Party

LOCAL_INPUT_FORMAT = "%Y-%m-%dT%H:%M"


class ContactSearchForm(forms.Form):
    q = forms.CharField(label="Search", required=False)
    party = forms.ModelChoiceField(
        Party.objects.all(), required=False, to_field_name="code", empty_label="Every party"
    )
    sector = forms.ModelChoiceField(
        Province.objects.filter(is_sector=True), required=False, empty_label="Every sector"
    )


class LogEntryForm(forms.Form):
    occurred_at = forms.DateTimeField(
        validators=[check_mission_years],
        label="When",
        help_text=f"In the mission's time ({settings.TIME_ZONE}).",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT_FORMAT),
        input_formats=[LOCAL_INPUT_FORMAT, "%Y-%m-%dT%H:%M:%S"],
    )
    kind = forms.ChoiceField(label="Type", choices=LogEntry.Kind.choices)
    topic = forms.ChoiceField(choices=LogEntry.Topic.choices)
    initiating_party = forms.ModelChoiceField(
        Party.objects.all(), label="Initiated by", required=False, empty_label="The mission"
    )
    sector = forms.ModelChoiceField(Province.objects.filter(is_sector=True), required=False)
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}))
    outcome = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    follow_up_action = forms.CharField(label="Follow-up action", max_length=255, required=False)
    follow_up_owner = forms.ModelChoiceField(
        User.objects.filter(is_active=True).order_by("username"),
        label="Follow-up owner",
        required=False,
    )
    follow_up_due_on = forms.DateField(
        validators=[check_mission_years],
        label="Follow-up due",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean(self):
        data = super().clean()
        parts = ("follow_up_action", "follow_up_owner", "follow_up_due_on")
        given = [name for name in parts if data.get(name)]
        if given and len(given) != len(parts):
            for name in parts:
                if not data.get(name):
                    self.add_error(name, "A follow-up needs an action, an owner and a due date.")
        return data

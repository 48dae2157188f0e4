"""Reports of one event: duty officers link the reports that saw the same incident (two
teams hearing the same shelling), so the summaries count it once."""

from django.core.exceptions import ValidationError
from django.db import transaction

from core.models import User
from reports.models import IncidentEvent, IncidentReport
from reports.services.review import locked, require_duty_officer


@transaction.atomic
def reports_link_as_one_event(
    *, reports: list[IncidentReport], by: User, note: str = ""
) -> IncidentEvent:
    """Two or more reports of the same event, so summaries count it once.

    Preconditions: `by` is a duty officer; the reports belong to one event at most. Effects:
    the event some of them already belong to (or a new one, with `note`) holds
    them all; each report
    that joins it is saved (audited). Raises ValidationError on `reports` otherwise."""
    require_duty_officer(by)
    if len(reports) < 2:
        raise ValidationError({"reports": ["Link at least two reports."]})
    rows = [locked(r) for r in reports]
    events = {r.event_id for r in rows if r.event_id}
    if len(events) > 1:
        raise ValidationError({"reports": ["These reports already belong to different events."]})
    event = (IncidentEvent.objects.get(pk=events.pop()) if events
             else IncidentEvent.objects.create(created_by=by, note=note))  # fmt: skip
    for report in rows:
        if report.event_id != event.pk:
            report.event = event
            report.save(update_fields=["event"])
    return event

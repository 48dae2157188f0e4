"""What a daily situation summary says, as one JSON-able dict built from the database.

The content is a function of the period and of what is stored: building it twice gives the
same dict (no build time, no random order), so a rebuild is comparable with the stored
revision and a difference is a real change (a late report, a review, a verification).
It only reads: incidents.py (the incident figures and trend), operations.py (patrols,
restrictions, notifications, liaison) and narrative.py (the sentences and highlights).

Counting rules, stated in the summary itself:
- An incident is a submitted report (not a draft, not rejected) observed in the period;
  reports linked as one event count once, as the event's earliest report.
- Notable incidents are reviewed reports only, with their verification level.
- Patrols count by planned departure in the period; parties' acknowledgements and
  objections as recorded by the cut-off.
"""

from datetime import datetime

from django.conf import settings
from django.utils import timezone

from reports.summaries.content.common import local_iso
from reports.summaries.content.incidents import incident_figures, incident_trend
from reports.summaries.content.narrative import highlights
from reports.summaries.content.operations import (
    liaison_figures,
    notification_figures,
    patrol_figures,
    restriction_figures,
)

SCHEMA = "missionapp.daily-summary/1"


def build_content(*, title: str, number: int, year: int, start: datetime, end: datetime) -> dict:
    """The internal content of the summary for [start, end). Reads only; deterministic."""
    previous_start = start - (end - start)
    incidents = incident_figures(start, end, previous_start)
    patrols = patrol_figures(start, end)
    restrictions = restriction_figures(start, end)
    notifications = notification_figures(start, end)
    local_start, local_end = timezone.localtime(start), timezone.localtime(end)
    content = {
        "schema": SCHEMA,
        "title": title,
        "number": number,
        "year": year,
        "period": {
            "start": local_iso(start),
            "end": local_iso(end),
            "time_zone": settings.TIME_ZONE,
            "label": f"From {local_start:%H:%M} on {local_start:%-d %B %Y} to "
            f"{local_end:%H:%M} on {local_end:%-d %B %Y} ({settings.TIME_ZONE} time)",
        },  # fmt: skip
        "counting_rules": [
            "An incident is a submitted report observed in the period (not a draft, not "
            "rejected); reports linked as one event are counted once.",
            "Notable incidents are reviewed reports only; each states its verification level.",
            "Patrols count by planned departure; acknowledgements and objections as recorded "
            "by the cut-off.",
        ],
        "incidents": incidents,
        "patrols": patrols,
        "restrictions": restrictions,
        "notifications": notifications,
        "liaison": liaison_figures(start, end),
        "trend": incident_trend(end),
    }
    content["highlights"] = highlights(content)
    return content

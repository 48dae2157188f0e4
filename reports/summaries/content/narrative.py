"""The summary's words: a notable incident told in one sentence, and the highlights (the
bullets that open the summary and its e-mail) drawn from the figures."""

from django.utils import timezone

from reports.models import IncidentReport
from reports.summaries.content.common import local_iso, report_ref


def notable_item(unit) -> dict:
    """A notable incident (one event's reports, the earliest first) in one sentence, with the
    highest severity and casualty figure any of its reports gives."""
    lead = unit[0]
    local = timezone.localtime(lead.observed_at)
    when = {
        IncidentReport.TimePrecision.EXACT: f"At {local:%H:%M}",
        IncidentReport.TimePrecision.APPROXIMATE: f"At about {local:%H:%M}",
        IncidentReport.TimePrecision.BETWEEN: (
            f"Between {local:%H:%M} and {timezone.localtime(lead.observed_until):%H:%M}"
            if lead.observed_until else f"At about {local:%H:%M}"
        ),
    }[lead.time_precision]  # fmt: skip
    counts = ", ".join(f"{n} {word}" for n, word in ((lead.explosions, "explosions"),
                       (lead.shots, "shots"), (lead.bursts, "bursts")) if n)  # fmt: skip
    means = lead.get_observation_means_display().lower()
    text = (f"{when} on {local:%-d %B}, {lead.get_category_display().lower()} "
            f"{lead.location_phrase}" + (f" ({counts})" if counts else "")
            + f": {means}.")  # fmt: skip
    if len(unit) > 1:
        text += f" Seen in {len(unit)} reports of one event."
    return {
        "ref": report_ref(lead),
        "observed_at": local_iso(lead.observed_at),
        "category": lead.get_category_display(),
        "location_phrase": lead.location_phrase,
        "sector": lead.sector.name,
        "severity": max(r.severity for r in unit),
        "verification": lead.get_verification_display(),
        "casualties": max(r.casualties for r in unit),
        "summary": text,
        "description": lead.description,
        "reports": len(unit),
    }


def _change(now: int, before: float, what: str) -> str:
    if now == before:
        return f"the same as {what} ({before:g})"
    word = "up" if now > before else "down"
    return f"{word} from {before:g} {what}"


def highlights(content: dict) -> list[str]:
    """The bullets that open the summary, from the figures of the content already built."""
    incidents, patrols = content["incidents"], content["patrols"]
    bullets = [
        f"{incidents['total']} incident{'s' if incidents['total'] != 1 else ''} recorded "
        f"({incidents['reports']} report{'s' if incidents['reports'] != 1 else ''}), "
        f"{_change(incidents['total'], incidents['previous_total'], 'the previous period')}; "
        f"7-day average {incidents['average_7d']:g}.",
    ]
    busiest = sorted(((n, s) for s, n in incidents["by_sector"].items() if n), reverse=True)
    if busiest:
        bullets.append("Most incidents in " + ", ".join(f"{s} ({n})" for n, s in busiest[:3])
                       + ".")  # fmt: skip
    casualties = incidents["casualties"]
    killed = sum(sum(casualties[w]["killed"].values()) for w in casualties)
    injured = sum(sum(casualties[w]["injured"].values()) for w in casualties)
    if killed or injured:
        bullets.append(f"Casualties: {killed} killed, {injured} injured "
                       f"(see the casualty table for sources).")  # fmt: skip
    else:
        bullets.append("No casualties reported.")
    planned = sum(row["planned"] for row in patrols["by_base"])
    completed = sum(row["completed"] for row in patrols["by_base"])
    restrictions = content["restrictions"]["total"]
    bullets.append(f"{planned} patrol{'s' if planned != 1 else ''} planned, {completed} "
                   f"completed; {restrictions} restriction{'s' if restrictions != 1 else ''} "
                   "of movement.")  # fmt: skip
    hotline = content["liaison"]["hotline_by_party"]
    if hotline:
        bullets.append("Hotline activations: " + ", ".join(f"{party} {n}"
                       for party, n in hotline.items()) + ".")  # fmt: skip
    overdue = len(content["liaison"]["overdue_follow_ups"])
    if overdue:
        bullets.append(f"{overdue} liaison follow-up{'s' if overdue != 1 else ''} overdue.")
    unacked = len(content["notifications"]["unacknowledged"])
    if unacked:
        bullets.append(f"{unacked} itinerary notification{'s' if unacked != 1 else ''} "
                       "not acknowledged by the cut-off.")  # fmt: skip
    return bullets

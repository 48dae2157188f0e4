"""The summary's incident figures: incidents counted (events once), by sector and category
against the previous period, casualties, damage, the notable incidents, the annex of every
report counted, and the 30-day trend."""

from collections import Counter
from datetime import datetime, timedelta

from core.models import Province
from reports.models import IncidentReport
from reports.summaries.content.common import local_iso, report_ref
from reports.summaries.content.narrative import notable_item

S = IncidentReport.Status
COUNTED = (S.SUBMITTED, S.REVIEWED, S.RETURNED)
NOTABLE_SEVERITY = 3
TREND_DAYS = 30


def counted_incidents(start: datetime, end: datetime):
    """The reports counted in [start, end), oldest first, with what the annex reads."""
    return (
        IncidentReport.objects.filter(
            observed_at__gte=start, observed_at__lt=end, status__in=COUNTED
        )
        .select_related("sector", "author", "patrol")
        .prefetch_related("attachments")
        .order_by("observed_at", "uuid")
    )


def _units(reports) -> list[list[IncidentReport]]:
    """Reports grouped as incidents: one group per event, a lone report alone. The first
    report of a group (the earliest observed) stands for it."""
    groups, by_event = [], {}
    for report in reports:
        if report.event_id is None:
            groups.append([report])
        elif report.event_id in by_event:
            by_event[report.event_id].append(report)
        else:
            by_event[report.event_id] = [report]
            groups.append(by_event[report.event_id])
    return groups


def _count_units(start, end) -> int:
    rows = IncidentReport.objects.filter(
        observed_at__gte=start, observed_at__lt=end, status__in=COUNTED
    ).values_list("event_id", flat=True)
    events = {e for e in rows if e is not None}
    return sum(1 for e in rows if e is None) + len(events)


def _casualties(units) -> dict:
    """Civilian/military × killed/injured, corroborated by the mission or reported by a party.
    For an event seen in several reports, the highest figure any of its reports gives."""
    table = {who: {harm: {"corroborated": 0, "party_reported": 0} for harm in ("killed", "injured")}
             for who in ("civilian", "military")}  # fmt: skip
    for unit in units:
        for who, prefix in (("civilian", "civilians"), ("military", "military")):
            for harm in ("killed", "injured"):
                best = max(unit, key=lambda r: getattr(r, f"{prefix}_{harm}"))
                number = getattr(best, f"{prefix}_{harm}")
                if number:
                    source = best.casualty_source or IncidentReport.CasualtySource.PARTY_REPORTED
                    table[who][harm][source] += number
    return table


def _annex_row(report, unit_lead) -> dict:
    return {
        "ref": report_ref(report),
        "uuid": str(report.uuid),
        "observed_at": local_iso(report.observed_at),
        "time_precision": report.time_precision,
        "sector": report.sector.name,
        "location_phrase": report.location_phrase,
        "across_line": report.across_line,
        # Where the observer stood, in effect: internal only (SOURCE_FIELDS).
        "observer_bearing_degrees": report.direction_degrees,
        "observer_distance_m": report.estimated_distance_m,
        "latitude": round(report.location.y, 5),
        "longitude": round(report.location.x, 5),
        "location_precision": report.location_precision,
        "category": report.category,
        "category_label": report.get_category_display(),
        "event_type": report.acled_event_type,
        "sub_event_type": report.acled_sub_event_type,
        "severity": report.severity,
        "severity_label": report.get_severity_display(),
        "civilians_killed": report.civilians_killed,
        "civilians_injured": report.civilians_injured,
        "military_killed": report.military_killed,
        "military_injured": report.military_injured,
        "casualty_source": report.casualty_source,
        "status": report.status,
        "verification": report.verification,
        "observation_means": report.observation_means,
        "alleged_actor": report.alleged_actor,
        "alleged_by": report.alleged_by,
        "description": report.description,
        "damage": report.damage,
        "reporter": report.author.get_full_name() or report.author.get_username(),
        "patrol": report.patrol_id,
        "event": report.event_id,
        "counted_as": report_ref(unit_lead),
        "attachments": [a.sha256 for a in report.attachments.all()],
    }


def incident_figures(start, end, previous_start) -> dict:
    """The incidents section: [start, end) against [previous_start, start) and the 7 days
    before."""
    reports = list(counted_incidents(start, end))
    units = _units(reports)
    leads = [unit[0] for unit in units]
    previous = list(counted_incidents(previous_start, start))
    previous_leads = [unit[0] for unit in _units(previous)]
    week = [_count_units(start - timedelta(days=d + 1), end - timedelta(days=d + 1))
            for d in range(7)]  # fmt: skip

    now_counts = Counter((r.sector.name, r.category) for r in leads)
    before_counts = Counter((r.sector.name, r.category) for r in previous_leads)
    sectors = list(Province.objects.filter(is_sector=True).order_by("name")
                   .values_list("name", flat=True))  # fmt: skip
    categories = IncidentReport.Category
    table = []
    for sector in sectors:
        for category in categories:
            now, before = now_counts[(sector, category)], before_counts[(sector, category)]
            if now or before:
                table.append({"sector": sector, "category": category.value,
                              "category_label": category.label, "count": now,
                              "previous": before, "change": now - before})  # fmt: skip
    lead_of = {r.pk: unit[0] for unit in units for r in unit}
    notable = [notable_item(unit) for unit in units
               if unit[0].status == S.REVIEWED
               and (max(r.severity for r in unit) >= NOTABLE_SEVERITY
                    or any(r.casualties for r in unit))]  # fmt: skip
    damage = [{"ref": report_ref(r), "location_phrase": r.location_phrase, "damage": r.damage,
               "category": r.get_category_display()} for r in leads if r.damage]  # fmt: skip
    return {
        "total": len(units),
        "reports": len(reports),
        "previous_total": len(previous_leads),
        "average_7d": round(sum(week) / 7, 1),
        "by_sector": {s: sum(1 for r in leads if r.sector.name == s) for s in sectors},
        "by_sector_category": table,
        "casualties": _casualties(units),
        "damage": damage,
        "notable": notable,
        "annex": [_annex_row(r, lead_of[r.pk]) for r in reports],
    }


def incident_trend(end) -> dict:
    """Incidents per sector for each of the 30 days up to the cut-off (one query)."""
    start = end - timedelta(days=TREND_DAYS)
    days = [(start + timedelta(days=i)) for i in range(TREND_DAYS)]
    sectors = list(Province.objects.filter(is_sector=True).order_by("name")
                   .values_list("name", flat=True))  # fmt: skip
    series = {s: [0] * TREND_DAYS for s in sectors}
    seen_events = set()
    rows = (
        IncidentReport.objects.filter(observed_at__gte=start, observed_at__lt=end,
                                      status__in=COUNTED)
        .order_by("observed_at")
        .values_list("observed_at", "sector__name", "event_id")
    )  # fmt: skip
    for observed_at, sector, event in rows:
        if event is not None:
            if event in seen_events:
                continue
            seen_events.add(event)
        index = min(TREND_DAYS - 1, int((observed_at - start) / timedelta(days=1)))
        if sector in series:
            series[sector][index] += 1
    return {"days": [local_iso(d)[:10] for d in days], "by_sector": series}

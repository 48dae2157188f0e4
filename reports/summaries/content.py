"""What a daily situation summary says, as one JSON-able dict built from the database.

The content is a function of the period and of what is stored: building it twice gives the
same dict (no build time, no random order), so a rebuild is comparable with the stored
revision and a difference is a real change (a late report, a review, a verification).

Counting rules, stated in the summary itself:
- An incident is a submitted report (not a draft, not rejected) observed in the period;
  reports linked as one event count once, as the event's earliest report.
- Notable incidents are reviewed reports only, with their verification level.
- Patrols count by planned departure in the period; parties' acknowledgements and
  objections as recorded by the cut-off.
"""

from collections import Counter, defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from core.models import ForwardBase, Province
from liaison.models import FollowUp, LogEntry
from liaison.selectors import hotline_activation_counts
from patrols.models import ItineraryNotification, MovementRestriction, PatrolPlan
from reports.models import IncidentReport

SCHEMA = "missionapp.daily-summary/1"
S = IncidentReport.Status
COUNTED = (S.SUBMITTED, S.REVIEWED, S.RETURNED)
NOTABLE_SEVERITY = 3
TREND_DAYS = 30


def _iso(value: datetime | None) -> str | None:
    return timezone.localtime(value).isoformat() if value else None


def _ref(report) -> str:
    return str(report.uuid)[:8]


def counted_incidents(start: datetime, end: datetime):
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


def _narrative(unit) -> dict:
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
        "ref": _ref(lead),
        "observed_at": _iso(lead.observed_at),
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


def _annex_row(report, unit_lead) -> dict:
    return {
        "ref": _ref(report),
        "uuid": str(report.uuid),
        "observed_at": _iso(report.observed_at),
        "time_precision": report.time_precision,
        "sector": report.sector.name,
        "location_phrase": report.location_phrase,
        "latitude": round(report.location.y, 5),
        "longitude": round(report.location.x, 5),
        "location_precision": report.location_precision,
        "category": report.category,
        "category_label": report.get_category_display(),
        "event_type": report.acled_event_type,
        "sub_event_type": report.acled_sub_event_type,
        "severity": report.severity,
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
        "counted_as": _ref(unit_lead),
        "attachments": [a.sha256 for a in report.attachments.all()],
    }


def _incidents(start, end, previous_start) -> dict:
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
    notable = [_narrative(unit) for unit in units
               if unit[0].status == S.REVIEWED
               and (max(r.severity for r in unit) >= NOTABLE_SEVERITY
                    or any(r.casualties for r in unit))]  # fmt: skip
    damage = [{"ref": _ref(r), "location_phrase": r.location_phrase, "damage": r.damage,
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


def _patrols(start, end) -> dict:
    P = PatrolPlan.Status
    plans = list(
        PatrolPlan.objects.filter(planned_departure__gte=start, planned_departure__lt=end)
        .exclude(status__in=[P.DRAFT, P.RETURNED, P.SUBMITTED])
        .select_related("forward_base")
        .prefetch_related("versions__notifications__party")
        .order_by("planned_departure", "pk")
    )
    parties = sorted({n.party.name for p in plans for v in p.versions.all()
                      for n in v.notifications.all()})  # fmt: skip
    bases = ForwardBase.objects.order_by("name").values_list("name", flat=True)
    rows = {base: {"base": base, "planned": 0, "notified": 0, "completed": 0, "cancelled": 0,
                   "aborted": 0, "acknowledged": {party: 0 for party in parties}}
            for base in bases}  # fmt: skip
    overrides, deviations = [], []
    for plan in plans:
        row = rows[plan.forward_base.name]
        row["planned"] += 1
        current = [v for v in plan.versions.all() if v.number == plan.version]
        notifications = [n for v in current for n in v.notifications.all()
                         if n.purpose == ItineraryNotification.Purpose.ITINERARY]  # fmt: skip
        if any(n.sent_at and n.sent_at < end for n in notifications):
            row["notified"] += 1
        for n in notifications:
            if n.acknowledged_at and n.acknowledged_at < end:
                row["acknowledged"][n.party.name] += 1
        ended = plan.ended_at is not None and plan.ended_at < end
        if plan.status == P.COMPLETED and ended:
            row["completed"] += 1
        elif plan.status == P.ABORTED and ended:
            row["aborted"] += 1
        elif plan.status == P.CANCELLED:
            row["cancelled"] += 1
        if plan.urgent_override:
            overrides.append({"patrol": plan.pk, "base": plan.forward_base.name,
                              "purpose": plan.purpose,
                              "justification": plan.override_justification})  # fmt: skip
        if plan.flagged_deviation:
            deviations.append({"patrol": plan.pk, "base": plan.forward_base.name,
                               "purpose": plan.purpose,
                               "max_deviation_km": round(plan.max_deviation_km, 1)})  # fmt: skip
    return {"parties": parties, "by_base": list(rows.values()), "urgent_overrides": overrides,
            "route_deviations": deviations}  # fmt: skip


def _restrictions(start, end) -> dict:
    rows = list(
        MovementRestriction.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
        .select_related("plan__forward_base")
        .order_by("occurred_at", "pk")
    )
    counts = Counter((r.get_category_display(), r.get_actor_display()) for r in rows)
    return {
        "total": len(rows),
        "by_category_actor": [
            {"category": c, "actor": a, "count": n} for (c, a), n in sorted(counts.items())
        ],  # fmt: skip
        "list": [
            {
                "occurred_at": _iso(r.occurred_at),
                "category": r.get_category_display(),
                "actor": r.get_actor_display(),
                "location_phrase": r.location_phrase,
                "patrol": r.plan_id,
                "base": r.plan.forward_base.name,
                "turned_back": r.turned_back,
                "duration_minutes": r.duration_minutes,
                "reason_given": r.reason_given,
            }
            for r in rows
        ],  # fmt: skip
    }


def _notifications(start, end) -> dict:
    N = ItineraryNotification
    rows = list(
        N.objects.filter(purpose=N.Purpose.ITINERARY)
        .filter(
            Q(sent_at__gte=start, sent_at__lt=end)
            | Q(
                version__plan__planned_departure__gte=start,
                version__plan__planned_departure__lt=end,
            )
        )  # fmt: skip
        .select_related("party", "version__plan__forward_base")
        .order_by("version__plan__planned_departure", "party__name", "pk")
        .distinct()
    )
    by_party = defaultdict(lambda: {"sent": 0, "acknowledged": 0, "unacknowledged": 0,
                                    "failed": 0, "objections": 0})  # fmt: skip
    unacknowledged, objections = [], []
    for n in rows:
        counts = by_party[n.party.name]
        plan = n.version.plan
        sent = n.sent_at is not None and n.sent_at < end
        acknowledged = n.acknowledged_at is not None and n.acknowledged_at < end
        if n.status == N.Status.FAILED:
            counts["failed"] += 1
        if sent:
            counts["sent"] += 1
            counts["acknowledged" if acknowledged else "unacknowledged"] += 1
            if not acknowledged:
                unacknowledged.append({"party": n.party.name, "patrol": plan.pk,
                                       "base": plan.forward_base.name,
                                       "departure": _iso(plan.planned_departure),
                                       "sent_at": _iso(n.sent_at)})  # fmt: skip
        if n.objection and n.objection_recorded_at and n.objection_recorded_at < end:
            counts["objections"] += 1
            objections.append({"party": n.party.name, "patrol": plan.pk,
                               "objection": n.objection})  # fmt: skip
    return {"by_party": [{"party": p, **c} for p, c in sorted(by_party.items())],
            "unacknowledged": unacknowledged, "objections": objections}  # fmt: skip


def _liaison(start, end) -> dict:
    """Hotline activations by side, sector and topic (the IPRM practice), meetings, and the
    follow-ups overdue at the cut-off."""
    topics = dict(LogEntry.Topic.choices)
    hotline = [{"sector": row["sector"] or "—", "party": row["initiated_by"],
                "topic": topics.get(row["topic"], row["topic"]), "count": row["activations"]}
               for row in hotline_activation_counts(start=start, end=end)]  # fmt: skip
    by_party = Counter()
    for row in hotline:
        by_party[row["party"]] += row["count"]
    kinds = Counter(LogEntry.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
                    .values_list("kind", flat=True))  # fmt: skip
    cutoff_day = timezone.localtime(end).date()
    overdue = (
        FollowUp.objects.filter(due_on__lt=cutoff_day, entry__occurred_at__lt=end)
        .filter(Q(done_at__isnull=True) | Q(done_at__gte=end))
        .select_related("owner", "entry")
        .order_by("due_on", "pk")
    )
    return {
        "hotline": hotline,
        "hotline_by_party": dict(sorted(by_party.items())),
        "meetings": kinds[LogEntry.Kind.MEETING],
        "entries": sum(kinds.values()),
        "overdue_follow_ups": [
            {
                "action": f.action,
                "due_on": f.due_on.isoformat(),
                "topic": topics.get(f.entry.topic, f.entry.topic),
                "owner": f.owner.get_full_name() or f.owner.get_username(),
            }
            for f in overdue
        ],  # fmt: skip
    }


def _trend(end) -> dict:
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
    return {"days": [_iso(d)[:10] for d in days], "by_sector": series}


def build_content(*, title: str, number: int, year: int, start: datetime, end: datetime) -> dict:
    """The internal content of the summary for [start, end). Reads only; deterministic."""
    previous_start = start - (end - start)
    incidents = _incidents(start, end, previous_start)
    patrols = _patrols(start, end)
    restrictions = _restrictions(start, end)
    notifications = _notifications(start, end)
    local_start, local_end = timezone.localtime(start), timezone.localtime(end)
    content = {
        "schema": SCHEMA,
        "title": title,
        "number": number,
        "year": year,
        "period": {
            "start": _iso(start),
            "end": _iso(end),
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
        "liaison": _liaison(start, end),
        "trend": _trend(end),
    }
    content["highlights"] = highlights(content)
    return content


def _change(now: int, before: float, what: str) -> str:
    if now == before:
        return f"the same as {what} ({before:g})"
    word = "up" if now > before else "down"
    return f"{word} from {before:g} {what}"


def highlights(content: dict) -> list[str]:
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

"""The summary's figures on the mission's own work in the period: patrols by forward base,
restrictions of movement, itinerary notifications to the parties, and liaison (hotline
activations, meetings, overdue follow-ups)."""

from collections import Counter, defaultdict

from django.db.models import Q
from django.utils import timezone

from core.models import ForwardBase
from liaison.models import FollowUp, LogEntry
from liaison.selectors import hotline_activation_counts
from patrols.models import ItineraryNotification, MovementRestriction, PatrolPlan
from reports.summaries.content.common import local_iso


def patrol_figures(start, end) -> dict:
    """Patrols approved to depart in [start, end), by forward base: planned, notified,
    acknowledged by each party, and how they ended by the cut-off; urgent overrides and route
    deviations."""
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


def restriction_figures(start, end) -> dict:
    """Restrictions of movement in [start, end), counted by category and actor, and listed."""
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
                "occurred_at": local_iso(r.occurred_at),
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


def notification_figures(start, end) -> dict:
    """Itinerary notifications sent in the period or for patrols departing in it, by party:
    sent, acknowledged by the cut-off, failed, objections."""
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
                                       "departure": local_iso(plan.planned_departure),
                                       "sent_at": local_iso(n.sent_at)})  # fmt: skip
        if n.objection and n.objection_recorded_at and n.objection_recorded_at < end:
            counts["objections"] += 1
            objections.append({"party": n.party.name, "patrol": plan.pk,
                               "objection": n.objection})  # fmt: skip
    return {"by_party": [{"party": p, **c} for p, c in sorted(by_party.items())],
            "unacknowledged": unacknowledged, "objections": objections}  # fmt: skip


def liaison_figures(start, end) -> dict:
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

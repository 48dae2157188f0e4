"""Who may see and change which incident reports (the object rules a permission table can't hold).

- A monitor or team leader sees their own reports (drafts included) and, once submitted, the
  reports of their forward base; they change their own drafts in place and amend their own
  submitted or returned reports (IncidentReport.EDITABLE and AMENDABLE, the filing
  services' rule too).
- Duty officers, coordinators, headquarters and administrators see every submitted report;
  nobody sees another person's draft.
"""

import itertools
import math
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import (
    Avg,
    Case,
    Count,
    F,
    FloatField,
    Func,
    Max,
    Min,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Floor
from django.urls import reverse
from django.utils.text import capfirst

from core.roles import Role, has_role
from patrols.models import PatrolPlan
from reports.models import IncidentReport

READ_ALL_ROLES = (Role.DUTY_OFFICER, Role.COORDINATOR, Role.HEADQUARTERS, Role.ADMINISTRATOR)
FILING_ROLES = (Role.MONITOR, Role.TEAM_LEADER)


def can_see_incidents(user) -> bool:
    """Incident lists, pages and the map: readers of every report and those who file them."""
    return has_role(user, *READ_ALL_ROLES, *FILING_ROLES)


def can_file(user) -> bool:
    """Filing incident reports (the tablet app, the API's POST): monitors and team leaders,
    by role (a superuser passes every table permission, not this)."""
    return has_role(user, *FILING_ROLES)


def can_review(user) -> bool:
    """Duty officers review, verify and link reports (the review queue is theirs)."""
    return has_role(user, Role.DUTY_OFFICER)


def incident_report_list(*, user) -> QuerySet[IncidentReport]:
    base = IncidentReport.objects.select_related("author", "sector", "patrol").prefetch_related(
        "attachments"
    )
    own = Q(author=user)
    submitted = ~Q(status=IncidentReport.Status.DRAFT)
    if has_role(user, *READ_ALL_ROLES):
        return base.filter(own | submitted)
    if has_role(user, *FILING_ROLES):
        same_base = Q(author__forward_base=user.forward_base_id) if user.forward_base_id else Q()
        return base.filter(own | (submitted & same_base)) if same_base else base.filter(own)
    return base.none()


def incident_reports_require_access(*, user) -> None:
    """Refuse (403) a role that sees no incident report at all, before any is looked up."""
    if not has_role(user, *READ_ALL_ROLES, *FILING_ROLES):
        raise PermissionDenied("Your role does not give access to incident reports.")


def incident_report_require_author(*, user, report: IncidentReport, doing="change it") -> None:
    """Only the report's author changes, submits or attaches to it: a refusal of the person
    (403), made before the request's body is read."""
    if report.author_id != user.pk:
        raise PermissionDenied(f"Only the report's author can {doing}.")


def incident_report_can_edit(*, user, report: IncidentReport) -> bool:
    """Whether the report is still its author's to change in place (the API's `editable`):
    a draft (IncidentReport.EDITABLE). A submitted or returned report is amended instead
    (IncidentReport.AMENDABLE: a revision kept, a reason asked), through the same PATCH."""
    return (
        report.status in IncidentReport.EDITABLE
        and report.author_id == user.pk
        and has_role(user, *FILING_ROLES)
    )


# --- The incident map ------------------------------------------------------------------------

# A cluster is one cell of a grid anchored at 0°,0° whose size follows the map's zoom: about
# CLUSTER_CELL_PX screen pixels. Anchored, so clusters do not jump when the map is panned.
CLUSTER_CELL_PX = 64
# Web Mercator stretches latitude by 1/cos(lat): the mission lies around 40° N, so cells
# this much shorter in latitude look square on the map.
CELL_ASPECT = math.cos(math.radians(40))
# A request may not ask for more cells across than a 6,400-pixel screen shows (a whole-world
# bbox at a street zoom would otherwise make every incident its own feature).
MAX_CELLS_ACROSS = 100


class _X(Func):
    function = "ST_X"
    output_field = FloatField()


class _Y(Func):
    function = "ST_Y"
    output_field = FloatField()


def cluster_cell_size(zoom: int) -> tuple[float, float]:
    """The cell's width and height in degrees at this zoom (256-pixel tiles)."""
    width = 360 / (256 * 2**zoom) * CLUSTER_CELL_PX
    return width, width * CELL_ASPECT


def incident_map_features(*, queryset: QuerySet[IncidentReport], zoom: int) -> dict:
    """What the map draws for these incidents at this zoom, as a GeoJSON FeatureCollection.

    One aggregate query groups the incidents by grid cell (count, mean position, extent,
    highest severity); a cell holding a single incident is drawn as that incident, read in a
    second query. Two queries whatever the number of incidents, and at most as many features
    as cells on the screen. `queryset` is already restricted to what the user may see and
    filtered (bbox included).
    """
    width, height = cluster_cell_size(zoom)
    cells = list(
        queryset.order_by()
        .select_related(None)
        .prefetch_related(None)
        .annotate(lon=_X("location"), lat=_Y("location"))
        .annotate(cx=Floor(F("lon") / Value(width)), cy=Floor(F("lat") / Value(height)))
        .values("cx", "cy")
        .annotate(
            count=Count("pk"),
            first=Min("pk"),
            max_severity=Max("severity"),
            mean_lon=Avg("lon"),
            mean_lat=Avg("lat"),
            west=Min("lon"),
            east=Max("lon"),
            south=Min("lat"),
            north=Max("lat"),
        )  # fmt: skip
        .order_by("cy", "cx")
    )
    cells = _merge_crowded(cells, width, height)
    single_ids = [cell["first"] for cell in cells if cell["count"] == 1]
    singles = {
        report.pk: report
        for report in queryset.order_by().select_related("sector").prefetch_related(None)
        .filter(pk__in=single_ids)
    }  # fmt: skip
    features = []
    for cell in cells:
        if cell["count"] == 1 and cell["first"] in singles:
            features.append(_incident_feature(singles[cell["first"]]))
            continue
        features.append({
            "type": "Feature",
            "geometry": {"type": "Point",
                         "coordinates": [round(cell["mean_lon"], 6), round(cell["mean_lat"], 6)]},
            "properties": {
                "cluster": True,
                "count": cell["count"],
                "max_severity": cell["max_severity"],
                "bbox": [round(cell[k], 6) for k in ("west", "south", "east", "north")],
            },
        })  # fmt: skip
    return {
        "type": "FeatureCollection",
        "zoom": zoom,
        "total": sum(cell["count"] for cell in cells),
        "features": features,
    }


# Two neighbouring cells whose incidents gather near their common edge would draw their
# markers on top of each other: closer than this share of a cell, they are drawn as one.
CROWDED = 0.9


def _merge_crowded(cells: list[dict], width: float, height: float) -> list[dict]:
    """Merge each cell with the neighbours (of the 3×3 around it) whose incidents' mean
    position is closer than CROWDED cells to its own, the most populous cells first."""
    by_key = {(c["cx"], c["cy"]): c for c in cells}
    taken, merged = set(), []
    for cell in sorted(cells, key=lambda c: (-c["count"], c["cy"], c["cx"])):
        key = (cell["cx"], cell["cy"])
        if key in taken:
            continue
        taken.add(key)
        group = dict(cell)
        for dx, dy in itertools.product((-1, 0, 1), repeat=2):
            near = (key[0] + dx, key[1] + dy)
            other = by_key.get(near)
            if other is None or near in taken:
                continue
            if (abs(other["mean_lon"] - group["mean_lon"]) < CROWDED * width
                    and abs(other["mean_lat"] - group["mean_lat"]) < CROWDED * height):  # fmt: skip
                taken.add(near)
                total = group["count"] + other["count"]
                for axis in ("mean_lon", "mean_lat"):
                    group[axis] = (group[axis] * group["count"]
                                   + other[axis] * other["count"]) / total  # fmt: skip
                group["count"] = total
                group["first"] = min(group["first"], other["first"])
                group["max_severity"] = max(group["max_severity"], other["max_severity"])
                group["west"], group["south"] = (min(group["west"], other["west"]),
                                                 min(group["south"], other["south"]))  # fmt: skip
                group["east"], group["north"] = (max(group["east"], other["east"]),
                                                 max(group["north"], other["north"]))  # fmt: skip
        merged.append(group)
    return sorted(merged, key=lambda c: (c["cy"], c["cx"]))


def _incident_feature(report: IncidentReport) -> dict:
    return {
        "type": "Feature",
        "id": str(report.uuid),
        "geometry": {"type": "Point",
                     "coordinates": [round(report.location.x, 6), round(report.location.y, 6)]},
        "properties": {
            "cluster": False,
            "uuid": str(report.uuid),
            "category": report.get_category_display(),
            "severity": report.severity,
            "observed_at": report.observed_at.isoformat(),
            "location_phrase": report.location_phrase,
            "sector": report.sector.name,
            "status": report.get_status_display(),
            "verification": report.get_verification_display(),
            "casualties": report.casualties,
            "url": reverse("incident-detail", args=[report.uuid]),
        },
    }  # fmt: skip


# --- The duty officers' pages ----------------------------------------------------------------


def review_queue(*, user) -> QuerySet[IncidentReport]:
    """Submitted reports waiting for a duty officer: those that qualify for a flash alert
    first (casualties or high severity), then the longest waiting."""
    urgent = Q(severity__gte=settings.FLASH_ALERT_SEVERITY) | Q(civilians_killed__gt=0) | Q(
        civilians_injured__gt=0) | Q(military_killed__gt=0) | Q(military_injured__gt=0)  # fmt: skip
    return (
        incident_report_list(user=user)
        .filter(status=IncidentReport.Status.SUBMITTED)
        .annotate(urgent=Case(When(urgent, then=Value(True)), default=Value(False)))
        .order_by("-urgent", "submitted_at", "observed_at")
    )


# Fields whose change says nothing a reader needs (the timeline names who and when itself).
BOOKKEEPING = {"version", "reviewed_by_id", "reviewed_at", "submitted_at", "sector_id",
               "received_at", "id", "uuid", "author_id", "flash_alert_due_at"}  # fmt: skip
DECISIONS = {
    IncidentReport.Status.SUBMITTED: "Submitted for review",
    IncidentReport.Status.REVIEWED: "Marked reviewed",
    IncidentReport.Status.RETURNED: "Returned to the reporter for information",
    IncidentReport.Status.REJECTED: "Rejected",
}


def _shown(name, value):
    if value is None or value == "":
        return "—"
    field = IncidentReport._meta.get_field(name.removesuffix("_id"))
    if field.choices:
        return dict(field.flatchoices).get(value, value)
    if name == "patrol_id":
        return f"patrol #{value}"
    if name in ("location", "observer_position") and isinstance(value, str):
        lon, lat = value.split("(")[-1].rstrip(")").split()
        return f"{float(lat):.5f}° N, {float(lon):.5f}° E"
    return str(value)


def _label(name):
    return capfirst(str(IncidentReport._meta.get_field(name.removesuffix("_id")).verbose_name))


def incident_report_history(*, report: IncidentReport) -> list[dict]:
    """What happened to a report, oldest first, from the audit trail (who, when, what
    changed), with the reason given for each amendment. Three queries."""
    from core.audit.models import AuditEntry

    entries = AuditEntry.objects.filter(
        model=IncidentReport._meta.label_lower, object_pk=str(report.pk)
    ).select_related("actor")
    reasons = {r.version: r.reason for r in report.revisions.all()}
    uploads = list(report.attachments.all())
    entries = list(entries)
    # A flash alert's claim that was given back (the mail server refused it, the retry
    # claimed it again) was not an alert sent: neither it nor its giving back is shown.
    given_back = {
        e.changes["flash_alerted_at"][0] for e in entries
        if e.changes.get("flash_alerted_at", [None, 0])[1] is None
    }  # fmt: skip
    history = []
    for entry in entries:
        changes = dict(entry.changes)
        item = {
            "at": entry.at, "actor": entry.actor or entry.actor_label or entry.client,
            "client": entry.get_client_display(), "title": "", "notes": [], "fields": [],
        }  # fmt: skip
        if entry.action == AuditEntry.Action.CREATE:
            status = changes.get("status", [None, IncidentReport.Status.DRAFT])[1]
            item["title"] = ("Filed and submitted" if status == IncidentReport.Status.SUBMITTED
                             else "Started as a draft")  # fmt: skip
            history.append(item)
            continue
        status = changes.pop("status", None)
        if status:
            was, now = status
            item["title"] = DECISIONS.get(now, f"Status: {_shown('status', now)}")
            if now == IncidentReport.Status.SUBMITTED and was == IncidentReport.Status.RETURNED:
                item["title"] = "Resubmitted after questions"
            if now == IncidentReport.Status.RETURNED:
                item["notes"].append(("Questions", changes.pop("review_questions", [0, ""])[1]))
            if now == IncidentReport.Status.REJECTED:
                item["notes"].append(("Reason", changes.pop("rejection_reason", [0, ""])[1]))
        verification = changes.pop("verification", None)
        note = changes.pop("verification_note", None)
        if verification or note:
            level = (verification or [None, report.verification])[1]
            item["title"] = item["title"] or f"Verification: {_shown('verification', level)}"
            if verification and status:
                item["notes"].append(("Verification", _shown("verification", level)))
            if note and note[1]:
                item["notes"].append(("Verification note", note[1]))
        event = changes.pop("event_id", None)
        if event:
            item["title"] = item["title"] or (
                f"Linked as one event with other reports (event {event[1]})" if event[1]
                else "Unlinked from its event"
            )  # fmt: skip
        flash = changes.pop("flash_alerted_at", None)
        if flash and flash[0] is None and flash[1] not in given_back:
            item["title"] = item["title"] or "Flash alert sent to duty officers and headquarters"
        amended = {k: v for k, v in changes.items() if k not in BOOKKEEPING}
        if "location_phrase" in amended:
            amended.pop("location", None)
        if amended:
            version = entry.changes.get("version", [None, None])[0]
            if not item["title"]:
                item["title"] = "Amended" if version not in (None, 0) else "Changed"
            if version in reasons and reasons[version]:
                item["notes"].append(("Reason given", reasons[version]))
            item["fields"] = [
                (_label(name), _shown(name, before), _shown(name, after))
                for name, (before, after) in sorted(amended.items())
            ]
        if item["title"]:
            history.append(item)
    for upload in uploads:
        history.append({"at": upload.uploaded_at, "actor": upload.uploaded_by,
                        "client": "", "title": f"Attachment added: {upload}", "notes": [],
                        "fields": []})  # fmt: skip
    history.sort(key=lambda item: item["at"])
    return history


# Patrols that went out (or may be out now): a report cannot be linked to a plan still being
# written or approved, nor to one that was cancelled.
PATROLS_THAT_WENT_OUT = (
    PatrolPlan.Status.APPROVED, PatrolPlan.Status.NOTIFIED, PatrolPlan.Status.UNDER_WAY,
    PatrolPlan.Status.COMPLETED, PatrolPlan.Status.ABORTED,
)  # fmt: skip
# How far back the tablet offers finished patrols: a report is filed within days, not weeks.
TABLET_PATROLS_DAYS = 3


def patrols_linkable(*, user) -> QuerySet[PatrolPlan]:
    """Patrols a reporter may link a report to: their forward base's, or one they were on."""
    on_it = Q(team_leader=user) | Q(monitors=user)
    same_base = Q(forward_base_id=user.forward_base_id) if user.forward_base_id else Q(pk=None)
    linkable = PatrolPlan.objects.filter(status__in=PATROLS_THAT_WENT_OUT).filter(same_base | on_it)
    # `distinct()` would be needed because of the join on monitors; a subquery keeps the
    # queryset plain for callers that filter or order it further.
    return PatrolPlan.objects.filter(pk__in=linkable.values("pk"))


def patrols_for_tablet(*, user, now: datetime) -> QuerySet[PatrolPlan]:
    """What the tablet offers in its patrol picker (cached for offline use): linkable
    patrols under way, notified or approved around now, or finished in the last few days."""
    since = now - timedelta(days=TABLET_PATROLS_DAYS)
    S = PatrolPlan.Status
    around_now = Q(
        status__in=[S.APPROVED, S.NOTIFIED, S.UNDER_WAY],
        planned_departure__lt=now + timedelta(days=1),
        planned_return__gt=since,
    )
    finished = Q(status__in=[S.COMPLETED, S.ABORTED]) & (
        Q(ended_at__gte=since) | Q(ended_at__isnull=True, planned_return__gte=since)
    )
    return (
        patrols_linkable(user=user)
        .filter(around_now | finished)
        .select_related("team_leader", "forward_base")
        .order_by("-planned_departure")
    )

"""Who may see and change which incident reports (the object rules a permission table can't hold).

- A monitor or team leader sees their own reports (drafts included) and, once submitted, the
  reports of their forward base; they change their own drafts in place and amend their own
  submitted or returned reports (IncidentReport.EDITABLE and AMENDABLE, the filing
  services' rule too).
- Duty officers, coordinators, headquarters and administrators see every submitted report;
  nobody sees another person's draft.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import (
    Case,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils.text import capfirst

from core.roles import Role, has_role
from patrols.models import PatrolPlan
from reports.models import IncidentReport, SummaryDelivery

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


def incident_report_is_authors(*, user, report: IncidentReport) -> bool:
    """Whether the report is the user's to change, submit and attach to: its author, while
    they hold a filing role (one who has moved to another role reads, no longer writes)."""
    return report.author_id == user.pk and can_file(user)


def incident_report_require_author(*, user, report: IncidentReport, doing="change it") -> None:
    """Only the report's author changes, submits or attaches to it (incident_report_is_authors):
    a refusal of the person (403), made before the request's body is read."""
    if not incident_report_is_authors(user=user, report=report):
        raise PermissionDenied(f"Only the report's author can {doing}.")


def incident_report_can_edit(*, user, report: IncidentReport) -> bool:
    """Whether the report is still its author's to change in place (the API's `editable`):
    a draft (IncidentReport.EDITABLE). A submitted or returned report is amended instead
    (IncidentReport.AMENDABLE: a revision kept, a reason asked), through the same PATCH."""
    return report.status in IncidentReport.EDITABLE and incident_report_is_authors(
        user=user, report=report
    )


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


def summary_deliveries_pending_count() -> int:
    """Summary e-mails queued or being sent (/metrics's outbox backlog). One COUNT."""
    pending = [SummaryDelivery.Status.QUEUED, SummaryDelivery.Status.SENDING]
    return SummaryDelivery.objects.filter(status__in=pending).count()


def flash_alerts_pending_count() -> int:
    """Serious reports due for their flash alert and not yet alerted (/metrics). One COUNT,
    on the partial index incident_flash_alert_due_idx, which holds exactly these rows."""
    return IncidentReport.objects.filter(
        flash_alert_due_at__isnull=False, flash_alerted_at__isnull=True
    ).count()

"""Who may see and change which incident reports (the object rules a permission table can't hold).

- A monitor or team leader sees their own reports (drafts included) and, once submitted, the
  reports of their forward base; they edit only their own drafts.
- Duty officers, coordinators, headquarters and administrators see every submitted report;
  nobody sees another person's draft.
"""

from datetime import datetime, timedelta

from django.db.models import Q, QuerySet

from core.roles import Role, has_role
from patrols.models import PatrolPlan
from reports.models import IncidentReport

READ_ALL_ROLES = (Role.DUTY_OFFICER, Role.COORDINATOR, Role.HEADQUARTERS, Role.ADMINISTRATOR)
FILING_ROLES = (Role.MONITOR, Role.TEAM_LEADER)


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


def incident_report_can_edit(*, user, report: IncidentReport) -> bool:
    return (
        report.status == IncidentReport.Status.DRAFT
        and report.author_id == user.pk
        and has_role(user, *FILING_ROLES)
    )


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

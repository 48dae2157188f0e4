"""Who may see and change which incident reports (the object rules a permission table can't hold).

- A monitor or team leader sees their own reports (drafts included) and, once submitted, the
  reports of their forward base; they edit only their own drafts.
- Duty officers, coordinators, headquarters and administrators see every submitted report;
  nobody sees another person's draft.
"""

from django.db.models import Q, QuerySet

from core.roles import Role, has_role
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

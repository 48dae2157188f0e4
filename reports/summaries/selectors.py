"""Reading summaries: who may (`can_read`, for the pages, the API and the header alike), and
the list that costs a fixed number of queries."""

from django.db.models import Prefetch, Q, QuerySet

from core.roles import Role, has_role
from reports.models import DailySummary, SummaryArtefact, SummaryRevision

# The internal level holds reporters' names: mission staff with a need to read the picture.
READERS = (Role.HEADQUARTERS, Role.DUTY_OFFICER, Role.COORDINATOR, Role.ADMINISTRATOR,
           Role.LIAISON_OFFICER)  # fmt: skip


# Why anyone else is refused, on the page's 403 and in the API's.
NOT_A_READER = "Daily summaries are for headquarters and the mission's duty staff."


def can_read(user) -> bool:
    return has_role(user, *READERS)


def summary_list(*, q: str = "", date_from=None, date_to=None) -> QuerySet[DailySummary]:
    """Summaries, newest first, with their revisions and files (not the files' bytes)."""
    summaries = DailySummary.objects.prefetch_related(
        Prefetch("revisions", queryset=SummaryRevision.objects.defer("content").prefetch_related(
            Prefetch("artefacts", queryset=SummaryArtefact.objects.defer("data"))
        ).order_by("number")),
    ).order_by("-period_end")  # fmt: skip
    q = (q or "").strip()
    if q:
        number, _, year = q.partition("/")
        if number.isdigit():
            match = Q(number=int(number))
            if year.isdigit():
                match &= Q(year=int(year))
            summaries = summaries.filter(match)
        else:
            summaries = summaries.filter(revisions__content__highlights__icontains=q).distinct()
    if date_from:
        summaries = summaries.filter(period_end__date__gte=date_from)
    if date_to:
        summaries = summaries.filter(period_end__date__lte=date_to)
    return summaries

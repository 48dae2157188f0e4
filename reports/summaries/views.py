"""Headquarters' summary pages: the summaries by date with search, one summary with its
revisions (what each changed, the SHA-256 of every file), and the logged downloads."""

from django import forms
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from core.dates import BoundedDateField
from core.pages import mission_page, page
from reports.models import SummaryArtefact
from reports.summaries import documents, selectors
from reports.summaries.services import summary_download_record


class SummarySearchForm(forms.Form):
    q = forms.CharField(
        required=False, label="Search",
        help_text='A number ("325" or "325/2026") or words of the summary.',
    )  # fmt: skip
    date_from = BoundedDateField(required=False, label="From",
                                widget=forms.DateInput(attrs={"type": "date"}))  # fmt: skip
    date_to = BoundedDateField(required=False, label="To",
                              widget=forms.DateInput(attrs={"type": "date"}))  # fmt: skip


def _require_reader(request):
    if not selectors.can_read(request.user):
        raise PermissionDenied(selectors.NOT_A_READER)


@require_GET
@mission_page
def summary_list(request):
    _require_reader(request)
    form = SummarySearchForm(request.GET)
    valid = form.is_valid()
    filters = form.cleaned_data if valid else {}
    summaries = selectors.summary_list(q=filters.get("q", ""), date_from=filters.get("date_from"),
                                       date_to=filters.get("date_to"))  # fmt: skip
    page_obj = Paginator(summaries, 30).get_page(request.GET.get("page"))
    for summary in page_obj.object_list:
        revisions = list(summary.revisions.all())  # prefetched, oldest first
        summary.latest = revisions[-1] if revisions else None
    # A bad search is shown beside its field (a 400), with every summary listed below it.
    return page(request, "reports/summaries/list.html", {"form": form, "page_obj": page_obj},
                status=200 if valid else 400)  # fmt: skip


@require_GET
@mission_page
def summary_detail(request, year, number):
    _require_reader(request)
    summary = get_object_or_404(selectors.summary_list(), year=year, number=number)
    revisions = list(summary.revisions.all())
    latest = summary.revisions.order_by("-number").only("content").first()
    return page(request, "reports/summaries/detail.html", {
        "summary": summary,
        "revisions": revisions[::-1],
        "content": latest.content if latest else None,
    })  # fmt: skip


@require_GET
@mission_page
def summary_download(request, year, number, revision, level, fmt):
    _require_reader(request)
    artefact = get_object_or_404(
        SummaryArtefact.objects.select_related("revision__summary"),
        revision__summary__year=year, revision__summary__number=number,
        revision__number=revision, level=level, format=fmt,
    )  # fmt: skip
    summary_download_record(artefact=artefact, user=request.user, via="page")
    return documents.artefact_response(artefact)

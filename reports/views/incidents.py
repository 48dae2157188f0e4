"""The incident pages: the duty officers' review queue, the incident list and map, and an
incident's detail with its history and the review, verification and event-link actions.

Who sees what is reports.selectors' rule (the same as the API's): duty officers,
coordinators, headquarters and administrators see every submitted report; team leaders and
monitors the reports of their forward base (`can_see_incidents`). Only duty officers review,
verify and link (`can_review`); a refused action answers the 403 page and is logged. A view
reads the form, calls one service (reports.services.review or .events) and shows the
service's ValidationError next to the field it names (core.pages.apply_service_errors), with
what was typed kept.
"""

import functools

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from core.models import Province
from core.pages import apply_service_errors, mission_page, nothing_recorded, page
from reports import selectors
from reports.filters import IncidentReportFilter
from reports.models import IncidentReport
from reports.services import events, review

PAGE_SIZE = 50
# The states in which the page shows the decision forms and the verification form.
DECIDABLE = {IncidentReport.Status.SUBMITTED}
VERIFIABLE = {IncidentReport.Status.SUBMITTED, IncidentReport.Status.REVIEWED}
NO_ACCESS = "Incident reports are for the mission's staff."


class ReturnForm(forms.Form):
    questions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What the reporter should add or clarify; they see it on their tablet.",
    )


class RejectForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


class VerifyForm(forms.Form):
    level = forms.ChoiceField(choices=IncidentReport.Verification.choices, label="Level")
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False,
        help_text="What corroborates the report (another team, imagery, a party's statement).",
    )  # fmt: skip


class LinkForm(forms.Form):
    others = forms.CharField(
        label="Other reports of the same event",
        help_text="Their references (KAP-2026-0142), separated by spaces.",
    )
    note = forms.CharField(required=False)


def _filters(request, queryset):
    """The shared filter set, with widgets for a page: menus saying "Any", date pickers, a
    sector menu (the API takes the name) and the patrol by its number."""
    filterset = IncidentReportFilter(request.GET, queryset=queryset, request=request)
    fields = filterset.form.fields
    # Set afresh on this form's fields: the filter set's fields may be cached and shared.
    for name, choices in (("category", IncidentReport.Category.choices),
                          ("verification", IncidentReport.Verification.choices),
                          ("status", IncidentReport.Status.choices)):  # fmt: skip
        fields[name].empty_label = "Any"
        fields[name].choices = choices
    sectors = Province.objects.filter(is_sector=True).order_by("name").values_list("name", "name")
    fields["sector"].label = "Sector"
    fields["sector"].widget = forms.Select(choices=[("", "Any"), *sectors])
    for name in ("date_from", "date_to"):
        fields[name].widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    fields["severity_min"].widget = forms.NumberInput(attrs={"min": 1, "max": 5})
    # A menu of every patrol ever planned would be thousands of rows: its number will do.
    fields["patrol"].label = "Patrol number"
    fields["patrol"].widget = forms.NumberInput(attrs={"min": 1})
    return filterset


def _visible(request):
    if not selectors.can_see_incidents(request.user):
        raise PermissionDenied(NO_ACCESS)
    return selectors.incident_report_list(user=request.user)


def _require_reviewer(request, reason):
    if not selectors.can_review(request.user):
        raise PermissionDenied(reason)


def _query_without(request, *names):
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


@require_GET
@mission_page
def incident_list(request):
    filterset = _filters(request, _visible(request))
    valid = filterset.is_valid()
    reports = filterset.qs if valid else filterset.queryset.none()
    paginator = Paginator(reports.order_by("-observed_at"), PAGE_SIZE)
    # A bad filter is the client's error (400), shown beside its field with the form kept.
    return page(request, "reports/incident_list.html", {
        "filterset": filterset,
        "page_obj": paginator.get_page(request.GET.get("page")),
        "query": _query_without(request, "page"),
        "time_zone": settings.TIME_ZONE,
    }, status=200 if valid else 400)  # fmt: skip


@require_GET
@mission_page
def review_queue(request):
    _require_reviewer(request, "The review queue is the duty officers'.")
    waiting = list(selectors.review_queue(user=request.user)[:200])
    returned = list(
        selectors.incident_report_list(user=request.user)
        .filter(status=IncidentReport.Status.RETURNED)
        .order_by("reviewed_at")[:100]
    )
    return page(request, "reports/review_queue.html", {
        "waiting": waiting, "returned": returned, "time_zone": settings.TIME_ZONE,
        "flash_severity": settings.FLASH_ALERT_SEVERITY,
    })  # fmt: skip


@require_GET
@mission_page
def incident_map(request):
    filterset = _filters(request, _visible(request))
    # Errors are shown beside the fields (a 400, as on the list); the map asks the API itself.
    valid = filterset.is_valid()
    return page(request, "reports/incident_map.html", {
        "filterset": filterset,
        "query": _query_without(request, "bbox", "zoom", "page"),
        "time_zone": settings.TIME_ZONE,
        "refresh_seconds": settings.INCIDENT_MAP_REFRESH_SECONDS,
    }, status=200 if valid else 400)  # fmt: skip


def _report(request, uuid) -> IncidentReport:
    report = _visible(request).filter(uuid=uuid).first()
    if report is None:
        if IncidentReport.objects.filter(uuid=uuid).exclude(status="draft").exists():
            raise PermissionDenied("This report belongs to another forward base.")
        get_object_or_404(IncidentReport.objects.none(), uuid=uuid)  # 404, drafts included
    return report


def _detail(request, report, status=200, **forms_):
    duty_officer = selectors.can_review(request.user)
    initial = {"level": report.verification, "note": report.verification_note}
    context = {
        "report": report,
        "history": selectors.incident_report_history(report=report),
        "attachments": list(report.attachments.all()),
        "event_reports": (
            list(report.event.reports.exclude(pk=report.pk).select_related("sector"))
            if report.event_id else []
        ),
        "duty_officer": duty_officer,
        "can_decide": duty_officer and report.status in DECIDABLE,
        "can_verify": duty_officer and report.status in VERIFIABLE,
        "return_form": forms_.get("return_form") or ReturnForm(),
        "reject_form": forms_.get("reject_form") or RejectForm(),
        "verify_form": forms_.get("verify_form") or VerifyForm(initial=initial),
        "link_form": forms_.get("link_form") or LinkForm(),
        "flash_severity": settings.FLASH_ALERT_SEVERITY,
        "time_zone": settings.TIME_ZONE,
        "map_data": _map_data(report),
    }  # fmt: skip
    return page(request, "reports/incident_detail.html", context, status=status)


def _map_data(report) -> dict:
    """What the incident page's map draws (static/reports/incident-page-map.js)."""
    observer = report.observer_position
    return {
        "incident": [round(report.location.x, 6), round(report.location.y, 6)],
        "observer": [round(observer.x, 6), round(observer.y, 6)] if observer else None,
        "across_line": report.across_line,
        "label": f"{report.reference} · {report.get_category_display()}",
    }


@require_GET
@mission_page
def incident_detail(request, uuid):
    return _detail(request, _report(request, uuid))


def _decided(request, report, message):
    messages.success(request, message)
    return redirect(reverse("incident-detail", args=[report.uuid]))


def _act(request, report, form_name, form, service, message, *, shown_in):
    """One review action from the page: the form's fields to one service. What the service
    says of a field the form has goes next to it, with what was typed kept (400). A refusal
    of the report's state, or any refusal once the form is no longer on the page (the report
    left the states `shown_in`, perhaps decided in another tab), is a message on the page as
    it now stands, saying why."""
    here = reverse("incident-detail", args=[report.uuid])
    stale = report.status not in shown_in
    gone = f"the report is now {report.get_status_display().lower()}."
    if not form.is_valid():
        return nothing_recorded(request, here, gone) if stale else _detail(
            request, report, status=400, **{form_name: form})  # fmt: skip
    try:
        service(report=report, by=request.user, **form.cleaned_data)
    except ValidationError as exc:
        named = getattr(exc, "error_dict", {})
        if stale or not set(named) & set(form.fields):
            if "status" in named:  # the service's own words on the report's state
                return _refused(
                    request, report, " ".join(ValidationError(named["status"]).messages)
                )
            if stale:
                return nothing_recorded(request, here, gone)
            return _refused(request, report, " ".join(exc.messages))
        apply_service_errors(exc, form)
        return _detail(request, report, status=400, **{form_name: form})
    return _decided(request, report, message)


def _refused(request, report, message):
    messages.error(request, message)
    return redirect(reverse("incident-detail", args=[report.uuid]))


class _NoFields(forms.Form):
    """Marking reviewed asks nothing more."""


# Each review decision's form on the page (its name in the context) and what is said after it.
DECISION_FORMS = {
    "reviewed": ("", _NoFields, "Marked reviewed."),
    "returned": ("return_form", ReturnForm, "Returned to the reporter with your questions."),
    "rejected": ("reject_form", RejectForm, "Rejected."),
}


@require_POST
@mission_page
def incident_review(request, uuid):
    report = _report(request, uuid)
    _require_reviewer(request, "Only a duty officer reviews reports.")
    decision = request.POST.get("decision")
    if decision not in review.DECISIONS:
        messages.error(request, review.CHOOSE_A_DECISION)
        return redirect(reverse("incident-detail", args=[report.uuid]))
    form_name, form_class, message = DECISION_FORMS[decision]
    service = functools.partial(review.report_decide, decision=decision)
    return _act(request, report, form_name, form_class(request.POST), service, message,
                shown_in=DECIDABLE)  # fmt: skip


@require_POST
@mission_page
def incident_verify(request, uuid):
    report = _report(request, uuid)
    _require_reviewer(request, "Only a duty officer verifies reports.")
    return _act(request, report, "verify_form", VerifyForm(request.POST), review.report_verify,
                "Verification level recorded.", shown_in=VERIFIABLE)  # fmt: skip


@require_POST
@mission_page
def incident_link(request, uuid):
    report = _report(request, uuid)
    _require_reviewer(request, "Only a duty officer links reports.")
    form = LinkForm(request.POST)
    if form.is_valid():
        visible = _visible(request).exclude(status=IncidentReport.Status.DRAFT)
        others, unknown = [], []
        for ref in form.cleaned_data["others"].replace(",", " ").split():
            # A reference as people write it (KAP-2026-0142), or the start of the identifier.
            matches = list(visible.filter(reference__iexact=ref)[:2])
            if not matches and len(ref) >= 8:
                matches = list(visible.filter(uuid__startswith=ref.lower())[:2])
            if len(matches) == 1 and matches[0].pk != report.pk:
                others.append(matches[0])
            else:
                unknown.append(ref)
        if unknown:
            form.add_error("others", f"No single submitted report matches: {', '.join(unknown)}.")
        else:
            try:
                events.reports_link_as_one_event(reports=[report, *others], by=request.user,
                                                 note=form.cleaned_data["note"])  # fmt: skip
            except ValidationError as exc:
                apply_service_errors(exc, form)
            else:
                return _decided(request, report, "Linked as one event: counted once.")
    return _detail(request, report, status=400, link_form=form)

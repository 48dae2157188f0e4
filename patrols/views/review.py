"""A coordinator's pages: the approval queue (plans submitted, and notified plans a party
has not acknowledged near departure), the review of one plan, its approval or return."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from core.pages import apply_service_errors, mission_page, page
from patrols import forms, services
from patrols.selectors import (
    can_approve,
    patrol_plan_is_own,
    patrol_plans_awaiting_approval,
    patrol_plans_escalated,
)
from patrols.services import safety
from patrols.views.shared import (
    Status,
    local,
    plan_map_data,
    reason_form,
    visible_plan,
    with_badges,
    zones_at,
)


@require_GET
@mission_page
def approval_queue(request):
    if not can_approve(request.user):
        raise PermissionDenied("The approval queue is for coordinators.")
    submitted = with_badges(patrol_plans_awaiting_approval(user=request.user))
    escalated = [
        plan
        for plan in with_badges(patrol_plans_escalated(user=request.user))
        if plan.escalated  # of the version the parties hold, not a superseded one
    ]
    return page(
        request,
        "patrols/approval_queue.html",
        {"submitted": submitted, "escalated": escalated, "time_zone": settings.TIME_ZONE},
    )


def review_context(request, plan, findings, approval_form, return_form):
    return {
        "plan": plan,
        "findings": findings,
        "blocking": [f for f in findings if f.severity == safety.BLOCKING],
        "approval_form": approval_form,
        "return_form": return_form,
        "map_data": plan_map_data(plan, findings),
        "route_geojson": plan.route.geojson if plan.route else "",
        "zones_url": zones_at(plan),
        "monitors": list(plan.monitors.all()),
        "departure": local(plan.planned_departure),
        "return_": local(plan.planned_return),
        "four_eyes": patrol_plan_is_own(request.user, plan),
        "time_zone": settings.TIME_ZONE,
    }


def reviewable_plan(request, pk):
    if not can_approve(request.user):
        raise PermissionDenied("Only a coordinator reviews itineraries.")
    return visible_plan(request, pk)


@require_GET
@mission_page
def plan_review(request, pk):
    plan = reviewable_plan(request, pk)
    if plan.status != Status.SUBMITTED:
        messages.info(request, f"This plan is {plan.get_status_display().lower()}: "
                               "there is nothing to review.")  # fmt: skip
        return redirect("patrol-detail", pk=plan.pk)
    findings = safety.itinerary_check(plan)
    context = review_context(
        request, plan, findings,
        forms.ApprovalForm(findings=findings, prefix="approve"),
        reason_form("return"),
    )  # fmt: skip
    return page(request, "patrols/plan_review.html", context)


@require_POST
@mission_page
def plan_approve(request, pk):
    plan = reviewable_plan(request, pk)
    # The form offers a box per warning found now; the service checks again as it approves.
    findings = safety.itinerary_check(plan)
    form = forms.ApprovalForm(request.POST, findings=findings, prefix="approve")
    if form.is_valid():
        try:
            version = services.patrol_plan_approve(
                plan=plan,
                by=request.user,
                accept_warnings=form.accepted_codes(),
                urgent_justification=form.cleaned_data.get("urgent_justification", ""),
            )
        except ValidationError as exc:
            apply_service_errors(exc, form, unnamed="refuse")
        else:
            parties = ", ".join(n.party.name for n in version.notifications.select_related("party"))
            messages.success(
                request,
                f"Approved «{plan.purpose}» as itinerary version {version.number}. "
                f"Sending it to {parties}.",
            )
            return redirect("patrol-approvals")
    messages.error(request, "Not approved: see the messages below.")
    plan.refresh_from_db()
    context = review_context(request, plan, findings, form, reason_form("return"))
    return page(request, "patrols/plan_review.html", context, status=400)


@require_POST
@mission_page
def plan_return(request, pk):
    plan = reviewable_plan(request, pk)
    form = reason_form("return", request.POST)
    if form.is_valid():
        try:
            services.patrol_plan_return(plan=plan, by=request.user,
                                        reason=form.cleaned_data["reason"])  # fmt: skip
        except ValidationError as exc:
            apply_service_errors(exc, form, unnamed="refuse")
        else:
            messages.success(request, f"Returned «{plan.purpose}» to its team leader.")
            return redirect("patrol-approvals")
    messages.error(request, "Not returned: see the message below.")
    findings = safety.itinerary_check(plan)
    context = review_context(
        request, plan, findings, forms.ApprovalForm(findings=findings, prefix="approve"), form
    )
    return page(request, "patrols/plan_review.html", context, status=400)

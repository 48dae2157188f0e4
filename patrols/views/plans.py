"""A planner's pages: the plan list, the plan form (create, edit, amend), the plan page and
the actions taken from it (submit, cancel, start, complete, abort).

A view checks who may act (patrols.selectors), reads the form, then calls one service; a
service's ValidationError is shown next to the fields it names, with everything typed kept.
"""

import functools
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.pages import apply_service_errors, mission_page, page, service_messages
from patrols import forms, services
from patrols.models import PatrolPlan
from patrols.selectors import (
    can_approve,
    can_plan,
    can_record_notifications,
    can_retry_notifications,
    can_see_every_base,
    can_see_plans,
    patrol_plan_can_create,
    patrol_plan_is_planner,
    patrol_plan_is_team_leader,
    patrol_plans_current,
)
from patrols.services import safety
from patrols.views.shared import (
    STAFF_ONLY,
    Status,
    badge,
    local,
    plan_map_data,
    reason_form,
    visible_plan,
    with_badges,
    zones_at,
)

# Before approval the checks are run live; after it, what was accepted is in the version.
CHECKED_LIVE = (Status.DRAFT, Status.RETURNED, Status.SUBMITTED)
STATUS_ORDER = [Status.DRAFT, Status.RETURNED, Status.SUBMITTED, Status.APPROVED,
                Status.NOTIFIED, Status.UNDER_WAY, Status.COMPLETED, Status.ABORTED,
                Status.CANCELLED]  # fmt: skip
FINISHED_SHOWN_DAYS = 30


# --- My plans -------------------------------------------------------------------------------


@require_GET
@mission_page
def plan_list(request):
    if not can_see_plans(request.user):
        raise PermissionDenied(STAFF_ONLY)
    since = timezone.now() - timedelta(days=FINISHED_SHOWN_DAYS)
    plans = with_badges(patrol_plans_current(user=request.user, since=since))
    groups = [
        {"status": status, "plans": [p for p in plans if p.status == status]}
        for status in STATUS_ORDER
    ]
    return page(
        request,
        "patrols/plan_list.html",
        {
            "groups": [g for g in groups if g["plans"]],
            "can_plan": patrol_plan_can_create(request.user),
            "see_all": can_see_every_base(request.user),
            "finished_days": FINISHED_SHOWN_DAYS,
            "time_zone": settings.TIME_ZONE,
        },
    )


# --- The plan form --------------------------------------------------------------------------


def plan_initial(plan):
    return {
        "purpose": plan.purpose,
        "planned_departure": plan.planned_departure,
        "planned_return": plan.planned_return,
        "team_leader": plan.team_leader_id,
        "monitors": [m.pk for m in plan.monitors.all()],
        "escort": plan.escort,
        "escort_unit": plan.escort_unit,
        "route": plan.route,
    }


def render_plan_form(request, form, waypoints, vehicles, plan=None, status=200):
    amending = plan is not None and plan.status in PatrolPlan.AMENDABLE
    # The route's map widget (django-leaflet) writes inline scripts: they run only with this
    # response's Content-Security-Policy nonce.
    for field in form.fields.values():
        if hasattr(field.widget, "csp_nonce"):
            field.widget.csp_nonce = request.csp_nonce
    return page(
        request,
        "patrols/plan_form.html",
        {
            "form": form,
            "waypoints": waypoints,
            "vehicles": vehicles,
            "plan": plan,
            "amending": amending,
            "base": form.base,
            "time_zone": settings.TIME_ZONE,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@mission_page
def plan_create(request):
    if not patrol_plan_can_create(request.user):
        raise PermissionDenied("Only a team leader with a forward base plans patrols.")
    base = request.user.forward_base
    if request.method == "GET":
        form = forms.PlanForm(base=base, initial={"team_leader": request.user.pk})
        return render_plan_form(request, form, forms.waypoint_formset(), forms.vehicle_formset())

    plan, posted = _save_posted(request, base, functools.partial(
        services.patrol_plan_create, forward_base=base, author=request.user))  # fmt: skip
    if plan is None:
        return render_plan_form(request, *posted, status=400)
    messages.success(request, "Draft plan saved. Check it, then submit it for approval.")
    return redirect("patrol-detail", pk=plan.pk)


def _save_posted(request, base, save):
    """The plan form and its waypoint and vehicle rows as posted, saved by `save` (create,
    update or amend) when all are valid: the plan, or None with the service's errors next to
    the fields they name; and the three forms, to show again with what was typed."""
    form = forms.PlanForm(request.POST, base=base)
    waypoints = forms.waypoint_formset(request.POST)
    vehicles = forms.vehicle_formset(request.POST)
    plan = None
    if all([form.is_valid(), waypoints.is_valid(), vehicles.is_valid()]):
        try:
            plan = save(route=form.cleaned_data["route"], waypoints=waypoints.specs(),
                        vehicles=vehicles.specs(), monitors=list(form.cleaned_data["monitors"]),
                        **form.plan_fields())  # fmt: skip
        except ValidationError as exc:
            rows = {"waypoints": waypoints, "vehicles": vehicles}
            apply_service_errors(exc, form, formsets=rows, unnamed="refuse")
    return plan, (form, waypoints, vehicles)


@require_http_methods(["GET", "POST"])
@mission_page
def plan_edit(request, pk):
    """Edit a draft or returned plan; amend an approved or notified one."""
    if not can_plan(request.user):
        raise PermissionDenied("Only team leaders and coordinators plan.")
    plan = visible_plan(request, pk)
    if not patrol_plan_is_planner(request.user, plan):
        raise PermissionDenied("Only the plan's author or team leader can change it.")
    if plan.status not in PatrolPlan.EDITABLE | PatrolPlan.AMENDABLE:
        messages.error(
            request, f"A {plan.get_status_display().lower()} plan cannot be changed any more."
        )
        return redirect("patrol-detail", pk=plan.pk)
    amending = plan.status in PatrolPlan.AMENDABLE
    if request.method == "GET":
        form = forms.PlanForm(base=plan.forward_base, initial=plan_initial(plan))
        waypoints = forms.waypoint_formset(
            initial=[
                {"name": w.name, "lat": w.location.y, "lon": w.location.x,
                 "planned_time": w.planned_time}
                for w in plan.waypoints.all()
            ],
            extra=1,
        )  # fmt: skip
        vehicles = forms.vehicle_formset(
            initial=[{"call_sign": v.call_sign, "plate": v.plate} for v in plan.vehicles.all()],
            extra=1,
        )
        return render_plan_form(request, form, waypoints, vehicles, plan)

    service = services.patrol_plan_amend if amending else services.patrol_plan_update
    save = functools.partial(service, plan=plan, by=request.user)
    saved, posted = _save_posted(request, plan.forward_base, save)
    if saved is None:
        return render_plan_form(request, *posted, plan, status=400)
    if amending:
        messages.success(
            request,
            f"Amendment submitted for approval. The parties keep version "
            f"{plan.version} until the amendment is approved and sent to all of them.",
        )
    else:
        messages.success(request, "Plan saved.")
    return redirect("patrol-detail", pk=plan.pk)


# --- One plan -------------------------------------------------------------------------------


def detail_context(request, plan, **bound):
    """Everything the plan page shows; `bound` holds forms re-shown with their errors."""
    user = request.user
    findings = safety.itinerary_check(plan) if plan.status in CHECKED_LIVE else []
    versions = sorted(plan.versions.all(), key=lambda v: -v.number)
    for version in versions:
        version.approved_local = local(version.approved_at)
        version.rows = list(version.notifications.all())
        for n in version.rows:
            n.badge = badge(n)
            n.ack_form = bound.get(f"ack-{n.pk}") or forms.AcknowledgementForm(prefix=f"ack-{n.pk}")
            n.objection_form = bound.get(f"objection-{n.pk}") or forms.ObjectionForm(
                prefix=f"objection-{n.pk}"
            )
    planner = patrol_plan_is_planner(user, plan)
    leader = patrol_plan_is_team_leader(user, plan)
    return {
        "plan": plan,
        "versions": versions,
        "findings": findings,
        "blocking": [f for f in findings if f.severity == safety.BLOCKING],
        "map_data": plan_map_data(plan, findings),
        "route_geojson": plan.route.geojson if plan.route else "",
        "zones_url": zones_at(plan),
        "monitors": list(plan.monitors.all()),
        "departure": local(plan.planned_departure),
        "return_": local(plan.planned_return),
        "can_edit": planner and plan.status in PatrolPlan.EDITABLE,
        "can_amend": planner and plan.status in PatrolPlan.AMENDABLE,
        "can_submit": planner and plan.status in PatrolPlan.EDITABLE,
        "can_cancel": planner and Status.CANCELLED in PatrolPlan.TRANSITIONS[plan.status],
        "can_review": can_approve(user) and plan.status == Status.SUBMITTED,
        "can_start": leader and plan.status in (Status.APPROVED, Status.NOTIFIED),
        "can_finish": leader and plan.status == Status.UNDER_WAY,
        "can_record": can_record_notifications(user),
        "can_retry": can_retry_notifications(user),
        "cancel_form": bound.get("cancel") or reason_form("cancel"),
        "abort_form": bound.get("abort") or reason_form("abort"),
        "submit_errors": bound.get("submit_errors", []),
        "time_zone": settings.TIME_ZONE,
    }


@require_GET
@mission_page
def plan_detail(request, pk):
    plan = visible_plan(request, pk)
    return page(request, "patrols/plan_detail.html", detail_context(request, plan))


@require_POST
@mission_page
def plan_submit(request, pk):
    plan = visible_plan(request, pk)
    try:
        findings = services.patrol_plan_submit(plan=plan, by=request.user)
    except ValidationError as exc:
        # Every message in one line above the checks, and listed among them.
        errors = service_messages(exc)
        messages.error(request, "Not submitted: " + " ".join(errors))
        plan.refresh_from_db()
        context = detail_context(request, plan, submit_errors=errors)
        return page(request, "patrols/plan_detail.html", context, status=400)
    messages.success(request, "Submitted for approval.")
    for finding in findings:
        level = messages.WARNING if finding.severity == safety.OVERRIDE else messages.INFO
        messages.add_message(request, level, f"The coordinator will see: {finding.message}")
    return redirect("patrol-detail", pk=plan.pk)


def reason_action(service, prefix, done, check):
    """A POST that takes a reason (cancel, abort), re-showing the plan page on error. Who
    may (`check`, the service's own predicate) is asked before the form is read."""

    @require_POST
    @mission_page
    def view(request, pk):
        plan = visible_plan(request, pk)
        check(plan, request.user)
        form = reason_form(prefix, request.POST)
        if form.is_valid():
            try:
                service(plan=plan, by=request.user, reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                apply_service_errors(exc, form, unnamed="refuse")
            else:
                messages.success(request, done)
                return redirect("patrol-detail", pk=plan.pk)
        messages.error(request, "Nothing was changed: see the message below.")
        plan.refresh_from_db()
        context = detail_context(request, plan, **{prefix: form})
        return page(request, "patrols/plan_detail.html", context, status=400)

    return view


plan_cancel = reason_action(
    services.patrol_plan_cancel, "cancel",
    "Patrol cancelled. Every party told of it is being told of the cancellation.",
    services.require_planner,
)  # fmt: skip
patrol_abort = reason_action(
    services.patrol_abort, "abort", "Patrol aborted.", services.require_team_leader
)


def plain_action(service, done):
    """A POST with nothing to type (start, complete): a refusal comes back as a message."""

    @require_POST
    @mission_page
    def view(request, pk):
        plan = visible_plan(request, pk)
        try:
            service(plan=plan, by=request.user)
        except ValidationError as exc:
            for error in service_messages(exc):
                messages.error(request, error)
        else:
            messages.success(request, done)
        return redirect("patrol-detail", pk=plan.pk)

    return view


patrol_start = plain_action(services.patrol_start, "Patrol under way. Safe journey.")
patrol_complete = plain_action(services.patrol_complete, "Patrol completed.")

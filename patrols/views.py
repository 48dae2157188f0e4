"""Patrol pages. The acknowledgement page is public: a party's officer opens the link from
the notification message, with no account here; the signed token is the authorisation.

Every other page needs a login and a mission role. A view checks who may do what, reads the
form, then calls one patrol service (or reads through patrols.selectors); a service's
ValidationError names the fields, and its messages are shown next to them, with everything
typed still in the form. A refused action answers 403 (Django logs it as "Forbidden").
"""

import json
import logging
from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.models import ForwardBase
from core.pages import mission_page, page, require_role
from core.roles import Role, has_role
from patrols import forms, services
from patrols.models import ItineraryNotification, PatrolPlan
from patrols.selectors import BASE_ROLES, SEE_ALL_ROLES, patrol_plan_can_create, patrol_plan_list
from patrols.services import notifications, safety

security_log = logging.getLogger("missionapp.security")


@require_http_methods(["GET", "POST"])
def itinerary_acknowledge(request, token):
    try:
        notification = notifications.notification_from_ack_token(token)
    except notifications.AckLinkError as exc:
        security_log.warning("refused acknowledgement link from %s: %s",
                             request.META.get("REMOTE_ADDR"), exc)  # fmt: skip
        return render(request, "patrols/ack.html", {"error": str(exc)}, status=400)
    context = {
        "notification": notification,
        "version": notification.version,
        "content": notification.version.content,
        "time_zone": settings.TIME_ZONE,
    }
    if request.method == "POST":
        try:
            notification = notifications.notification_acknowledge_by_link(token=token)
        except notifications.AckLinkError as exc:
            return render(request, "patrols/ack.html", {**context, "error": str(exc)}, status=409)
        context["acknowledged"] = True
        context["notification"] = notification
    elif notification.acknowledged_at is not None:
        context["already"] = True
    return render(request, "patrols/ack.html", context)


# --- Who may do what ------------------------------------------------------------------------

Status = PatrolPlan.Status
N = ItineraryNotification.Status
MISSION_ROLES = (*SEE_ALL_ROLES, *BASE_ROLES)
PLANNER_ROLES = (Role.TEAM_LEADER, Role.COORDINATOR)
RECORDER_ROLES = (Role.LIAISON_OFFICER, Role.COORDINATOR)
# Before approval the checks are run live; after it, what was accepted is in the version.
CHECKED_LIVE = (Status.DRAFT, Status.RETURNED, Status.SUBMITTED)
OPEN = (Status.DRAFT, Status.RETURNED, Status.SUBMITTED, Status.APPROVED, Status.NOTIFIED,
        Status.UNDER_WAY)  # fmt: skip
STATUS_ORDER = [Status.DRAFT, Status.RETURNED, Status.SUBMITTED, Status.APPROVED,
                Status.NOTIFIED, Status.UNDER_WAY, Status.COMPLETED, Status.ABORTED,
                Status.CANCELLED]  # fmt: skip
FINISHED_SHOWN_DAYS = 30
# The parties' short names on the calendar badges; a party added later shows its code.
PARTY_BADGES = {"armenia": "AM", "azerbaijan": "AZ", "russian-border-guards": "RU", "eusr": "EU"}
BADGE_WORDS = {N.ACKNOWLEDGED: "✓ ack", N.SENT: "sent", N.SENDING: "sending",
               N.QUEUED: "queued", N.FAILED: "failed"}  # fmt: skip


def visible_plan(request, pk) -> PatrolPlan:
    """The plan if this user may see it: 403 when it is another base's filed plan; 404 for
    another person's draft, as for no plan (a draft is its planners' and crew's alone)."""
    require_role(request, *MISSION_ROLES, reason="Patrol plans are for the mission's staff.")
    plan = patrol_plan_list(user=request.user).filter(pk=pk).first()
    if plan is None:
        if PatrolPlan.objects.filter(pk=pk).exclude(status=Status.DRAFT).exists():
            raise PermissionDenied("This plan belongs to another forward base.")
        get_object_or_404(PatrolPlan.objects.none(), pk=pk)
    return plan


def is_planner(user, plan) -> bool:
    """Mirrors the services' rule (author, team leader, coordinator) to show the buttons."""
    return user.pk in (plan.author_id, plan.team_leader_id) or has_role(user, Role.COORDINATOR)


def apply_service_errors(exc: ValidationError, form, **formsets):
    """Put each message of a service's ValidationError next to the field it names.

    `waypoints.2.planned_time` goes to the third waypoint row kept. A message naming no
    field is a refusal of the person (not a planner, four eyes): that is a 403.
    """
    if not hasattr(exc, "error_dict"):
        raise PermissionDenied(" ".join(exc.messages))
    for key, errors in exc.message_dict.items():
        head, _, rest = key.partition(".")
        if head in formsets and rest:
            index, _, field = rest.partition(".")
            rows = formsets[head].kept()
            if index.isdigit() and int(index) < len(rows):
                row = rows[int(index)]
                row.add_error(field if field in row.fields else None, errors)
                continue
        if key in form.fields:
            form.add_error(key, errors)
        else:
            form.add_error(None, errors)


# --- Shown with every plan ------------------------------------------------------------------


def current_notifications(plan):
    """The notifications of the version the parties hold (prefetched by patrol_plan_list)."""
    version = next((v for v in plan.versions.all() if v.number == plan.version), None)
    if version is None:
        return []
    rows = list(version.notifications.all())
    cancelled = [n for n in rows if n.purpose == ItineraryNotification.Purpose.CANCELLATION]
    if plan.status == Status.CANCELLED and cancelled:
        return cancelled
    return [n for n in rows if n.purpose == ItineraryNotification.Purpose.ITINERARY]


def badge(notification):
    short = PARTY_BADGES.get(notification.party.code, notification.party.code.upper())
    escalated = notification.escalated_at is not None and notification.acknowledged_at is None
    title = f"{notification.party.name}: {notification.get_status_display().lower()}"
    if notification.acknowledged_at:
        local = timezone.localtime(notification.acknowledged_at, forms.mission_zone())
        title += f" {local:%d %b %H:%M} ({settings.TIME_ZONE})"
    if escalated:
        title += "; not acknowledged near departure (escalated)"
    if notification.objection:
        title += "; objection recorded"
    return {
        "text": f"{short} {BADGE_WORDS.get(notification.status, notification.status)}",
        "status": notification.status,
        "title": title,
        "escalated": escalated,
        "objection": bool(notification.objection),
        "purpose": notification.purpose,
    }


def with_badges(plans):
    plans = list(plans)
    for plan in plans:
        plan.badges = [badge(n) for n in current_notifications(plan)]
        plan.escalated = any(b["escalated"] for b in plan.badges)
    return plans


def plan_map_data(plan, findings):
    return {
        "route": json.loads(plan.route.geojson) if plan.route else None,
        "waypoints": [
            {"position": w.position, "name": w.name, "lat": w.location.y, "lon": w.location.x}
            for w in plan.waypoints.all()
        ],
        "findings": [f.as_dict() for f in findings if f.geometry],
    }


def zones_at(plan) -> str:
    """The restricted-zone layer as it will stand at departure, not as it stands today."""
    at = plan.planned_departure.astimezone(UTC)
    return f"{reverse('api-restricted-zones')}?at={at:%Y-%m-%dT%H:%M:%SZ}"


def local(value):
    return timezone.localtime(value, forms.mission_zone())


# --- My plans -------------------------------------------------------------------------------


@require_GET
@mission_page
def plan_list(request):
    require_role(request, *MISSION_ROLES, reason="Patrol plans are for the mission's staff.")
    since = timezone.now() - timedelta(days=FINISHED_SHOWN_DAYS)
    plans = with_badges(
        patrol_plan_list(user=request.user)
        .filter(Q(status__in=OPEN) | Q(planned_departure__gte=since))
        .order_by("planned_departure")
    )
    groups = [
        {"status": status, "plans": [p for p in plans if p.status == status]}
        for status in STATUS_ORDER
    ]
    return page(
        request,
        "patrols/plan_list.html",
        {
            "groups": [g for g in groups if g["plans"]],
            "can_plan": can_create(request.user),
            "see_all": has_role(request.user, *SEE_ALL_ROLES),
            "finished_days": FINISHED_SHOWN_DAYS,
            "time_zone": settings.TIME_ZONE,
        },
    )


# --- The plan form --------------------------------------------------------------------------


can_create = patrol_plan_can_create


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
    if not can_create(request.user):
        raise PermissionDenied("Only a team leader with a forward base plans patrols.")
    base = request.user.forward_base
    if request.method == "GET":
        form = forms.PlanForm(base=base, initial={"team_leader": request.user.pk})
        return render_plan_form(request, form, forms.waypoint_formset(), forms.vehicle_formset())

    form = forms.PlanForm(request.POST, base=base)
    waypoints = forms.waypoint_formset(request.POST)
    vehicles = forms.vehicle_formset(request.POST)
    if all([form.is_valid(), waypoints.is_valid(), vehicles.is_valid()]):
        try:
            plan = services.patrol_plan_create(
                forward_base=base,
                author=request.user,
                route=form.cleaned_data["route"],
                waypoints=waypoints.specs(),
                vehicles=vehicles.specs(),
                monitors=list(form.cleaned_data["monitors"]),
                **form.plan_fields(),
            )
        except ValidationError as exc:
            apply_service_errors(exc, form, waypoints=waypoints, vehicles=vehicles)
        else:
            messages.success(request, "Draft plan saved. Check it, then submit it for approval.")
            return redirect("patrol-detail", pk=plan.pk)
    return render_plan_form(request, form, waypoints, vehicles, status=400)


@require_http_methods(["GET", "POST"])
@mission_page
def plan_edit(request, pk):
    """Edit a draft or returned plan; amend an approved or notified one."""
    require_role(request, *PLANNER_ROLES, reason="Only team leaders and coordinators plan.")
    plan = visible_plan(request, pk)
    if not is_planner(request.user, plan):
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

    form = forms.PlanForm(request.POST, base=plan.forward_base)
    waypoints = forms.waypoint_formset(request.POST)
    vehicles = forms.vehicle_formset(request.POST)
    if all([form.is_valid(), waypoints.is_valid(), vehicles.is_valid()]):
        service = services.patrol_plan_amend if amending else services.patrol_plan_update
        try:
            service(
                plan=plan,
                by=request.user,
                route=form.cleaned_data["route"],
                waypoints=waypoints.specs(),
                vehicles=vehicles.specs(),
                monitors=list(form.cleaned_data["monitors"]),
                **form.plan_fields(),
            )
        except ValidationError as exc:
            apply_service_errors(exc, form, waypoints=waypoints, vehicles=vehicles)
        else:
            if amending:
                messages.success(
                    request,
                    f"Amendment submitted for approval. The parties keep version "
                    f"{plan.version} until the amendment is approved and sent to all of them.",
                )
            else:
                messages.success(request, "Plan saved.")
            return redirect("patrol-detail", pk=plan.pk)
    return render_plan_form(request, form, waypoints, vehicles, plan, status=400)


# --- One plan -------------------------------------------------------------------------------


def detail_context(request, plan, **bound):
    """Everything the plan page shows; `bound` holds forms re-shown with their errors."""
    user = request.user
    findings = safety.itinerary_check(plan) if plan.status in CHECKED_LIVE else []
    can_record = has_role(user, *RECORDER_ROLES)
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
    planner = is_planner(user, plan)
    leader = user.pk == plan.team_leader_id
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
        "can_review": has_role(user, Role.COORDINATOR) and plan.status == Status.SUBMITTED,
        "can_start": leader and plan.status in (Status.APPROVED, Status.NOTIFIED),
        "can_finish": leader and plan.status == Status.UNDER_WAY,
        "can_record": can_record,
        "can_retry": has_role(user, Role.COORDINATOR),
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
        if not hasattr(exc, "error_dict"):
            raise PermissionDenied(" ".join(exc.messages)) from exc
        errors = [m for field in exc.message_dict.values() for m in field]
        messages.error(request, "Not submitted: " + " ".join(errors))
        plan.refresh_from_db()
        context = detail_context(request, plan, submit_errors=errors)
        return page(request, "patrols/plan_detail.html", context, status=400)
    messages.success(request, "Submitted for approval.")
    for finding in findings:
        level = messages.WARNING if finding.severity == safety.OVERRIDE else messages.INFO
        messages.add_message(request, level, f"The coordinator will see: {finding.message}")
    return redirect("patrol-detail", pk=plan.pk)


REASON_LABELS = {
    "cancel": "Why the patrol is cancelled",
    "abort": "Why the patrol was aborted",
    "return": "Why it goes back to the team leader",
}


def reason_form(prefix, data=None):
    return forms.ReasonForm(data, prefix=prefix, label=REASON_LABELS[prefix])


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
                apply_service_errors(exc, form)
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
            if not hasattr(exc, "error_dict"):
                raise PermissionDenied(" ".join(exc.messages)) from exc
            for errors in exc.message_dict.values():
                for error in errors:
                    messages.error(request, error)
        else:
            messages.success(request, done)
        return redirect("patrol-detail", pk=plan.pk)

    return view


patrol_start = plain_action(services.patrol_start, "Patrol under way. Safe journey.")
patrol_complete = plain_action(services.patrol_complete, "Patrol completed.")


# --- Notifications: what a liaison officer or coordinator records ---------------------------


def visible_notification(request, pk) -> ItineraryNotification:
    require_role(request, *RECORDER_ROLES,
                 reason="Only a liaison officer or a coordinator records this.")  # fmt: skip
    notification = get_object_or_404(
        ItineraryNotification.objects.select_related("party", "version"), pk=pk
    )
    visible_plan(request, notification.version.plan_id)
    return notification


def notifications_anchor(notification):
    return reverse("patrol-detail", args=[notification.version.plan_id]) + "#notifications"


def notification_form_action(form_class, prefix, call, done):
    @require_POST
    @mission_page
    def view(request, pk):
        notification = visible_notification(request, pk)
        form = form_class(request.POST, prefix=f"{prefix}-{notification.pk}")
        if form.is_valid():
            try:
                call(notification, request.user, form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(exc, form)
            else:
                messages.success(request, done.format(party=notification.party.name))
                return redirect(notifications_anchor(notification))
        messages.error(request, f"Nothing recorded for {notification.party.name}: see below.")
        plan = visible_plan(request, notification.version.plan_id)
        context = detail_context(request, plan, **{f"{prefix}-{notification.pk}": form})
        return page(request, "patrols/plan_detail.html", context, status=400)

    return view


notification_acknowledge = notification_form_action(
    forms.AcknowledgementForm,
    "ack",
    lambda n, user, data: notifications.notification_acknowledge_manually(
        notification=n, by=user, method=data["method"], note=data["note"], at=data["at"]
    ),
    "Acknowledgement by {party} recorded.",
)
notification_objection = notification_form_action(
    forms.ObjectionForm,
    "objection",
    lambda n, user, data: notifications.notification_record_objection(
        notification=n, by=user, text=data["text"]
    ),
    "Objection from {party} recorded.",
)


@require_POST
@mission_page
def notification_retry(request, pk):
    require_role(request, Role.COORDINATOR, reason="Only a coordinator retries a notification.")
    notification = visible_notification(request, pk)
    try:
        notifications.notification_retry(notification=notification, by=request.user)
    except ValidationError as exc:
        for errors in exc.message_dict.values() if hasattr(exc, "error_dict") else [exc.messages]:
            for error in errors:
                messages.error(request, error)
    else:
        messages.success(request, f"Sending to {notification.party.name} again.")
    return redirect(notifications_anchor(notification))


# --- Approval -------------------------------------------------------------------------------


@require_GET
@mission_page
def approval_queue(request):
    require_role(request, Role.COORDINATOR, reason="The approval queue is for coordinators.")
    plans = patrol_plan_list(user=request.user)
    submitted = with_badges(plans.filter(status=Status.SUBMITTED).order_by("planned_departure"))
    escalated = [
        plan
        for plan in with_badges(
            plans.filter(
                status__in=[Status.APPROVED, Status.NOTIFIED],
                versions__notifications__escalated_at__isnull=False,
                versions__notifications__acknowledged_at__isnull=True,
            )
            .distinct()
            .order_by("planned_departure")
        )
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
        "four_eyes": request.user.pk in (plan.author_id, plan.team_leader_id),
        "time_zone": settings.TIME_ZONE,
    }


def reviewable_plan(request, pk):
    require_role(request, Role.COORDINATOR, reason="Only a coordinator reviews itineraries.")
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
            apply_service_errors(exc, form)
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
            apply_service_errors(exc, form)
        else:
            messages.success(request, f"Returned «{plan.purpose}» to its team leader.")
            return redirect("patrol-approvals")
    messages.error(request, "Not returned: see the message below.")
    findings = safety.itinerary_check(plan)
    context = review_context(
        request, plan, findings, forms.ApprovalForm(findings=findings, prefix="approve"), form
    )
    return page(request, "patrols/plan_review.html", context, status=400)


# --- Week calendar --------------------------------------------------------------------------


@require_GET
@mission_page
def calendar(request):
    require_role(request, *MISSION_ROLES, reason="The patrol calendar is for the mission's staff.")
    form = forms.CalendarForm(request.GET)
    errors, status = [], 200
    if not form.is_valid():
        # Say what was wrong and show this week rather than nothing.
        errors, status = [e for field in form.errors.values() for e in field], 400
        form = forms.CalendarForm({})
        form.is_valid()
    base, monday = form.cleaned_data["base"], form.monday()
    zone = forms.mission_zone()
    start = timezone.make_aware(datetime.combine(monday, time.min), zone)
    end = start + timedelta(days=7)
    plans = patrol_plan_list(user=request.user).filter(
        planned_departure__lt=end, planned_return__gt=start
    )
    if base is not None:
        plans = plans.filter(forward_base=base)
    plans = with_badges(plans.order_by("planned_departure"))

    if base is not None:
        bases = [base]
    elif has_role(request.user, *SEE_ALL_ROLES):
        bases = list(ForwardBase.objects.order_by("name"))
    else:
        mine = {request.user.forward_base_id} | {p.forward_base_id for p in plans}
        bases = list(ForwardBase.objects.filter(pk__in=mine).order_by("name"))
    days = [monday + timedelta(days=i) for i in range(7)]
    today = timezone.localtime(timezone.now(), zone).date()
    rows = []
    for row_base in bases:
        cells = []
        for day in days:
            cells.append({
                "date": day,
                "today": day == today,
                "plans": [p for p in plans if p.forward_base_id == row_base.pk
                          and local(p.planned_departure).date() == day],
            })  # fmt: skip
        rows.append({"base": row_base, "cells": cells})
    for plan in plans:
        plan.departure_local = local(plan.planned_departure)
        plan.return_local = local(plan.planned_return)

    week = form.cleaned_data["week"]

    def week_link(offset):
        year, number, _ = (monday + timedelta(days=7 * offset)).isocalendar()
        query = f"?week={year}-W{number:02d}"
        return query + (f"&base={base.pk}" if base else "")

    return page(
        request,
        "patrols/calendar.html",
        {
            "form": form,
            "errors": errors,
            "rows": rows,
            "days": days,
            "week": week,
            "base": base,
            "previous_week": week_link(-1),
            "next_week": week_link(1),
            "this_week": "?week=" + forms.current_week() + (f"&base={base.pk}" if base else ""),
            "sunday": days[-1],
            "time_zone": settings.TIME_ZONE,
        },
        status=status,
    )

"""The parties' side of a notification: the public acknowledgement page a party's officer
opens from the message (the signed token is the authorisation, no account here), and what a
liaison officer or coordinator records on the plan page (an acknowledgement received another
way, an objection), or a coordinator's retry of a failed sending."""

import logging

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from core.pages import (
    apply_service_errors,
    mission_page,
    nothing_recorded,
    page,
    service_messages,
)
from patrols import forms
from patrols.models import ItineraryNotification
from patrols.selectors import can_record_notifications, can_retry_notifications
from patrols.services import notifications
from patrols.views.plans import detail_context
from patrols.views.shared import visible_plan

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


# --- What a liaison officer or coordinator records ------------------------------------------


def visible_notification(request, pk) -> ItineraryNotification:
    if not can_record_notifications(request.user):
        raise PermissionDenied("Only a liaison officer or a coordinator records this.")
    notification = get_object_or_404(
        ItineraryNotification.objects.select_related("party", "version"), pk=pk
    )
    visible_plan(request, notification.version.plan_id)
    return notification


def notifications_anchor(notification):
    return reverse("patrol-detail", args=[notification.version.plan_id]) + "#notifications"


def notification_form_action(form_class, prefix, call, done, *, gone=None):
    """A liaison officer's form on a notification of the plan page. `gone(notification)`:
    why the form is no longer on the page (the notification acknowledged since, perhaps in
    another tab), or None: then a refusal is a message saying so, not errors on a form the
    page does not show."""

    @require_POST
    @mission_page
    def view(request, pk):
        notification = visible_notification(request, pk)
        form = form_class(request.POST, prefix=f"{prefix}-{notification.pk}")
        if form.is_valid():
            try:
                call(notification, request.user, form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(exc, form, unnamed="refuse")
            else:
                messages.success(request, done.format(party=notification.party.name))
                return redirect(notifications_anchor(notification))
        notification.refresh_from_db()
        reason = gone(notification) if gone else None
        if reason:
            return nothing_recorded(request, notifications_anchor(notification), reason,
                                    whose=notification.party.name)  # fmt: skip
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
    gone=lambda n: "it was already acknowledged." if n.acknowledged_at else None,
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
    if not can_retry_notifications(request.user):
        raise PermissionDenied("Only a coordinator retries a notification.")
    notification = visible_notification(request, pk)
    try:
        notifications.notification_retry(notification=notification, by=request.user)
    except ValidationError as exc:
        for error in service_messages(exc, unnamed="message"):
            messages.error(request, error)
    else:
        messages.success(request, f"Sending to {notification.party.name} again.")
    return redirect(notifications_anchor(notification))

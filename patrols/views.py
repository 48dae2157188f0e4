"""Patrol pages. The acknowledgement page is public: a party's officer opens the link from
the notification message, with no account here; the signed token is the authorisation."""

import logging

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from patrols.services import notifications

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

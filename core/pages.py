"""What every mission page shares: the header's roles, the login, and a 403 page that says why.

A view raises PermissionDenied with the reason; `mission_page` turns it into the 403 page
(Django's request logger records it as "Forbidden", and so does `missionapp.security`).
"""

import functools
import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from core.roles import Role, has_role

security_log = logging.getLogger("missionapp.security")


def page(request, template, context, status=200):
    """Render a page; the header names the user's roles as the home page does."""
    names = request.user.role_names if request.user.is_authenticated else []
    roles = [Role(name).label for name in names if name in Role.values]
    context = {"roles": roles, "time_zone": settings.TIME_ZONE, **context}
    return render(request, template, context, status=status)


def mission_page(view):
    """Login required; PermissionDenied becomes a 403 page saying why, and is logged."""

    @login_required
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as exc:
            reason = str(exc) or "Your role cannot do this."
            security_log.warning("refused %s %s to %s: %s", request.method, request.path,
                                 request.user.get_username(), reason)  # fmt: skip
            return page(request, "core/forbidden.html", {"reason": reason}, status=403)

    return wrapper


def require_role(request, *roles, reason):
    if not has_role(request.user, *roles):
        raise PermissionDenied(reason)

"""What every mission page shares: the header's roles, the login, and a 403 page that says why.

A view raises PermissionDenied with the reason; `mission_page` turns it into the 403 page
(Django's request logger records it as "Forbidden", and so does `missionapp.security`).
"""

import functools
import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
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


def bad_request(request, exception):
    """Django's 400 handler (urls.handler400): a request Django itself refused before any
    view ran (a body over DATA_UPLOAD_MAX_MEMORY_SIZE, too many fields, a forbidden host).
    Its HTML page said only "Bad Request (400)"; an API client gets the API's error format
    and a person a page saying what was wrong, both naming the limit. Kept free of the user,
    the session and the database: this answers requests that may have none."""
    # Imported here: core.api imports DRF, which pages otherwise never need.
    from core.api.errors import _from_django_request_error

    refusal = _from_django_request_error(exception)
    status = getattr(refusal, "status_code", 400)
    detail = str(getattr(refusal, "detail", "")) or "The request could not be understood."
    if refusal is exception:  # another refusal (a bad host, a bad cookie): say nothing more
        detail = "The request could not be understood."
    security_log.warning("refused %s %s: %s", request.method, request.path, exception)
    if request.path.startswith("/api/"):
        code = getattr(refusal, "default_code", "bad_request")
        body = {"status": status, "code": code, "detail": detail, "errors": {}}
        return JsonResponse(body, status=status)
    return render(request, "core/bad_request.html", {"detail": detail}, status=status)

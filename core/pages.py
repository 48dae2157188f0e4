"""What every mission page shares: the header's roles, the login, a 403 page that says why, and
the translation of a service's ValidationError into form errors.

A view raises PermissionDenied with the reason; `mission_page` turns it into the 403 page
(Django's request logger records it as "Forbidden", and so does `missionapp.security`).
"""

import functools
import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect, render

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


def apply_service_errors(
    exc: ValidationError, form, *, formsets=None, fields=None, unnamed="form"
) -> None:
    """Put each message of a service's ValidationError next to the form field it names.

    The one translation from a service's refusal to a page's errors, for every app:
    - `fields` renames a service's key to the form's field (`follow_ups.0.action` →
      `follow_up_action`);
    - `formsets` sends `waypoints.2.planned_time` to the third row kept of the formset named
      `waypoints` (its `kept()` rows);
    - a key no field carries becomes a form-wide error;
    - a refusal naming no field at all goes to the form as well, unless `unnamed="refuse"`:
      then it is a refusal of the person (not a planner, four eyes), a 403 saying why.
    """
    if not hasattr(exc, "error_dict"):
        if unnamed == "refuse":
            raise PermissionDenied(" ".join(exc.messages))
        form.add_error(None, exc.messages)
        return
    formsets, fields = formsets or {}, fields or {}
    for key, errors in exc.message_dict.items():
        key = fields.get(key, key)
        head, _, rest = key.partition(".")
        if head in formsets and rest:
            index, _, field = rest.partition(".")
            rows = formsets[head].kept()
            if index.isdigit() and int(index) < len(rows):
                row = rows[int(index)]
                row.add_error(field if field in row.fields else None, errors)
                continue
        form.add_error(key if key in form.fields else None, errors)


def nothing_recorded(request, to: str, reason: str, *, whose: str = ""):
    """The answer to a form posted from a page that no longer shows it (the object changed
    since, perhaps decided in another tab): the page as it now stands, with a message saying
    that nothing was recorded and why, never errors on a form the page does not show. The one
    rule for every app's stale forms (a report's review, a notification's acknowledgement)."""
    messages.error(request, f"Nothing recorded{f' for {whose}' if whose else ''}: {reason}")
    return redirect(to)


def service_messages(exc: ValidationError, *, unnamed="refuse") -> list[str]:
    """A service's refusal for an action with no form to put it in (submit, start, retry):
    its messages in order, for the page's message list. One naming no field is a refusal of
    the person, a 403 saying why, unless `unnamed="message"`: the form-less case of
    apply_service_errors."""
    if not hasattr(exc, "error_dict") and unnamed == "refuse":
        raise PermissionDenied(" ".join(exc.messages))
    return exc.messages


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

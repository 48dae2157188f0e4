"""The Permissions-Policy header (settings.PERMISSIONS_POLICY), which Django does not send;
and admin lists' date lookups kept within what Django can compute (AdminDateLookupMiddleware).

Every response denies the listed browser features; a response under a path prefix of
PERMISSIONS_POLICY_BY_PATH gets that prefix's allowances on top (the tablet app may use the
camera and GPS). A view that sets the header itself keeps its own.
"""

import logging
import re
from datetime import date

from django.conf import settings
from django.http import HttpResponseRedirect, JsonResponse
from django.urls import reverse

from core import security
from core.dates import in_range
from core.roles import second_factor_required_by_role

security_log = logging.getLogger("missionapp.security")

HEADER = "Permissions-Policy"


def _allowlist(origins):
    # Structured-header syntax: self is a token, any other origin a quoted string.
    return "(" + " ".join(o if o in ("self", "*") else f'"{o}"' for o in origins) + ")"


def policy_header(policy):
    return ", ".join(f"{feature}={_allowlist(origins)}" for feature, origins in policy.items())


class PermissionsPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        base = settings.PERMISSIONS_POLICY
        self.default = policy_header(base)
        # Longest prefix first, so that a narrower prefix wins over a broader one.
        self.by_path = sorted(
            (
                (prefix, policy_header({**base, **allowed}))
                for prefix, allowed in settings.PERMISSIONS_POLICY_BY_PATH.items()
            ),
            key=lambda item: -len(item[0]),
        )

    def __call__(self, request):
        response = self.get_response(request)
        if HEADER not in response:
            response[HEADER] = self.header_for(request.path_info)
        return response

    def header_for(self, path):
        for prefix, header in self.by_path:
            if path.startswith(prefix):
                return header
        return self.default


_DATE_PART = re.compile(r"__(year|month|day)$")
_DATE_COMPARISON = re.compile(r"__(gte|gt|lte|lt|exact|date)$")
_ISO_DAY = re.compile(r"^(\d{1,4})-(\d{1,2})-(\d{1,2})")
_PART_BOUNDS = {"year": (1900, 2199), "month": (1, 12), "day": (1, 31)}


def _admin_date_out_of_bounds(key: str, value: str) -> bool:
    """Whether an admin list's date lookup would overflow inside Django: the date hierarchy
    computes the next year from `?observed_at__year=9999` (a ValueError, a 500), and
    `?observed_at__gte=0001-01-01` overflows moving into the server's zone."""
    part = _DATE_PART.search(key)
    if part:
        low, high = _PART_BOUNDS[part.group(1)]
        return value.isdigit() and not low <= int(value) <= high
    day = _ISO_DAY.match(value) if _DATE_COMPARISON.search(key) else None
    if day:
        try:
            return not in_range(date(*map(int, day.groups())))
        except ValueError:  # 2026-13-45
            return True
    return False


class AdminDateLookupMiddleware:
    """Admin lists answer a date lookup they cannot compute as Django answers any lookup it
    refuses: the list again with `?e=1` ("incorrect lookup parameters"), never a 500."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.prefix = None  # the admin's URL, resolved once (every request passes here)

    def __call__(self, request):
        if self.prefix is None:
            self.prefix = reverse("admin:index")
        in_admin = request.method == "GET" and request.path.startswith(self.prefix)
        if in_admin and any(_admin_date_out_of_bounds(k, v) for k, v in request.GET.items()):
            return HttpResponseRedirect(f"{request.path}?e=1")
        return self.get_response(request)


class SecondFactorMiddleware:
    """A session whose login still needs its second factor (core.security: PENDING, or any
    session of a member whose role needs one that has not been VERIFIED) reaches only the
    second-factor pages and logging out: pages redirect there, the API answers 403 in its
    own format. Verified sessions pass without a query."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        state = session.get(security.SECOND_FACTOR) if session is not None else None
        if (
            state != security.VERIFIED
            and request.user.is_authenticated  # a tablet's token request: no session, no query
            and not request.path.startswith(self._exempt())
            and (state == security.PENDING or second_factor_required_by_role(request.user))
        ):
            return self._refuse(request)
        return self.get_response(request)

    _exempt_paths = None

    @classmethod
    def _exempt(cls):
        # The second factor's pages, logging out, the device login (which asks for the code
        # itself), static files and the health check.
        if cls._exempt_paths is None:
            cls._exempt_paths = (
                reverse("second-factor"),
                reverse("logout"),
                reverse("admin:logout"),
                reverse("api-device-login"),
                settings.STATIC_URL,
                reverse("healthz"),
            )
        return cls._exempt_paths

    @staticmethod
    def _refuse(request):
        security_log.warning(
            "refused %s %s to %s: second factor not yet given",
            request.method,
            request.path,
            request.user.get_username(),
        )
        if request.path.startswith("/api/"):
            return JsonResponse(
                {
                    "status": 403,
                    "code": "second_factor_required",
                    "detail": "Finish logging in: give the code of your authenticator app at "
                    f"{reverse('second-factor')} first.",
                    "errors": {},
                },
                status=403,
            )
        target = request.get_full_path() if request.method == "GET" else reverse("home")
        return HttpResponseRedirect(security.second_factor_url("second-factor", target))

"""The offline-first tablet app: its shell page, service worker and web app manifest.

Monitors file incident reports from the tablet in the mountains, mostly without signal. The
shell is one page; everything it needs (its JS and CSS, Leaflet, the mission's geography
layers) is precached by the service worker after one online visit, and reports live in the
tablet's IndexedDB until the server's answer echoes their UUID (static/tablet/sync.js).
"""

import hashlib
import json
from functools import lru_cache

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import get_template
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

from core.pages import mission_page, security_log
from reports.models import IncidentReport
from reports.selectors import can_file, patrols_for_tablet

# What the service worker stores at install: the app and the map, nothing else. Hashed
# names in production (ManifestStaticFilesStorage), so a new release gets new URLs.
SHELL_STATIC = [
    "tablet/tablet.css",
    "tablet/db.js",
    "tablet/sync.js",
    "tablet/placement.js",
    "tablet/photos.js",
    "tablet/app.js",
    "tablet/basemap-cache.js",
    "core/basemap.js",
    "tablet/icon.svg",
    "tablet/icon-192.png",
    "tablet/icon-512.png",
    "leaflet/leaflet.js",
    "leaflet/leaflet.css",
]
# The only API answers the service worker keeps: the map layers drawn instead of tiles, what
# the base layer is (its tiles are stored by basemap-cache.js), and who is logged in. Never
# reports of others, never liaison data.
CACHED_API = [
    "api-provinces", "api-border", "api-settlements", "api-bases", "api-basemap", "api-me",
]  # fmt: skip
TIME_ZONE = "Asia/Yerevan"


def _require_filing_role(request):
    if not can_file(request.user):
        raise PermissionDenied("The tablet app is for monitors and team leaders.")


def _choices(choices):
    return [{"value": value, "label": str(label)} for value, label in choices]


@require_GET
@mission_page  # login required; a refusal is the 403 page saying why, and logged
@ensure_csrf_cookie  # sync.js reads the `csrftoken` cookie for X-CSRFToken
def tablet_shell(request):
    _require_filing_role(request)
    options = {
        "category": _choices(IncidentReport.Category.choices),
        "time_precision": _choices(IncidentReport.TimePrecision.choices),
        "location_precision": _choices(IncidentReport.LocationPrecision.choices),
        "observation_means": _choices(IncidentReport.ObservationMeans.choices),
        "casualty_source": _choices(IncidentReport.CasualtySource.choices),
        "severity": _choices(IncidentReport.Severity.choices),
    }
    base = request.user.forward_base
    config = {
        "username": request.user.get_username(),
        # Shown from the first paint, offline too (the shell is what the worker keeps).
        "displayName": (request.user.get_full_name() or request.user.get_username())
        + (f" · {base.name}" if base is not None else ""),
        "timeZone": TIME_ZONE,
        "swUrl": reverse("tablet-sw"),
        "scope": reverse("tablet"),
        "loginUrl": f"{reverse('login')}?next={reverse('tablet')}",
        "logoutUrl": reverse("logout"),
        "api": {
            "me": reverse("api-me"),
            "reports": reverse("api-incident-reports"),
            "provinces": reverse("api-provinces"),
            "border": reverse("api-border"),
            "settlements": reverse("api-settlements"),
            "bases": reverse("api-bases"),
            "patrols": reverse("tablet-patrols"),
        },
        "options": options,
        # The observer's rule, checked offline as the server checks it (static/tablet/placement.js).
        "placement": {
            "maxBeyondKm": settings.INCIDENT_MAX_BEYOND_BORDER_KM,
            "toleranceKm": settings.PROVINCE_TOLERANCE_KM,
            "farthestKm": settings.REPORT_MAX_DISTANCE_M / 1000,
        },
        # Where the map opens: the monitor's forward base (else the whole mission area).
        "homeBase": (
            {"name": base.name, "lat": base.location.y, "lon": base.location.x}
            if base is not None
            else None
        ),
        "mapCenter": list(settings.LEAFLET_CONFIG.get("DEFAULT_CENTER", (40.0, 45.4))),
        "mapZoom": settings.LEAFLET_CONFIG.get("DEFAULT_ZOOM", 8),
        # Photos are downsized on the tablet and sent in parts (static/tablet/photos.js).
        "photos": {
            "longEdge": settings.PHOTO_LONG_EDGE_PX,
            "quality": settings.PHOTO_JPEG_QUALITY,
            "chunkBytes": settings.PHOTO_UPLOAD_CHUNK_KB * 1024,
        },
    }
    response = render(request, "reports/tablet.html", {"config": config})
    # The shell is cached by the service worker, never by the HTTP cache: a logged-out
    # browser must not show it from a disk cache outside the worker's control.
    response["Cache-Control"] = "no-cache, private"
    return response


def _precache_urls():
    return [reverse("tablet"), reverse("tablet-manifest")] + [static(p) for p in SHELL_STATIC]


def _static_bytes(path):
    found = finders.find(path)
    if found:
        with open(found, "rb") as handle:
            return handle.read()
    with staticfiles_storage.open(path) as handle:
        return handle.read()


def _compute_version():
    digest = hashlib.sha256()
    for path in [*SHELL_STATIC, "tablet/sw.js"]:
        digest.update(path.encode() + b"\0" + _static_bytes(path))
    digest.update(get_template("reports/tablet.html").template.source.encode())
    return digest.hexdigest()[:16]


_cached_version = lru_cache(maxsize=1)(_compute_version)


def _version():
    # A developer edits files under a running server; a deployed release never changes them.
    return _compute_version() if settings.DEBUG else _cached_version()


@require_GET
@never_cache
def tablet_service_worker(request):
    """The service worker, with the list of files to precache and a version that changes
    whenever one of them does (so the browser installs the new worker and drops old caches).

    Served from /tablet/ so that its scope is the app; open to anyone (it holds no data, and
    the browser fetches it for update checks even when the session has expired).
    """
    config = {
        "version": _version(),
        "shell": reverse("tablet"),
        "precache": _precache_urls(),
        "cachedApi": [reverse(name) for name in CACHED_API],
        "staticPrefix": settings.STATIC_URL,
        "tilePrefix": reverse("basemap-tile", kwargs={"z": 0, "x": 0, "y": 0, "fmt": "png"})[
            : -len("0/0/0.png")
        ],
    }
    body = f"self.TABLET_SW_CONFIG = {json.dumps(config)};\n" + _static_bytes(
        "tablet/sw.js"
    ).decode("utf-8")
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = reverse("tablet")
    return response


@require_GET
def tablet_manifest(request):
    manifest = {
        "name": "missionapp incident reports",
        "short_name": "Reports",
        "description": "File incident reports from the field, with or without signal.",
        "id": reverse("tablet"),
        "start_url": reverse("tablet"),
        "scope": reverse("tablet"),
        "display": "standalone",
        "orientation": "any",
        "background_color": "#f4f6f8",
        "theme_color": "#12263f",
        "icons": [
            {"src": static("tablet/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("tablet/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {"src": static("tablet/icon.svg"), "sizes": "any", "type": "image/svg+xml",
             "purpose": "any"},
        ],
    }  # fmt: skip
    response = JsonResponse(manifest, content_type="application/manifest+json")
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
@never_cache
def tablet_patrols(request):
    """The patrols the monitor may link a report to, around now: the tablet keeps this list
    (in IndexedDB, with the monitor's own reports) for its patrol picker offline.

    JSON errors rather than a redirect to the login page: the app must tell "log in again"
    from "no signal".
    """
    if not request.user.is_authenticated:
        return JsonResponse({"status": 401, "code": "not_authenticated",
                             "detail": "Log in again.", "errors": {}}, status=401)  # fmt: skip
    if not can_file(request.user):
        security_log.warning("refused %s %s to %s: not a filing role", request.method,
                             request.path, request.user.get_username())  # fmt: skip
        return JsonResponse({"status": 403, "code": "permission_denied",
                             "detail": "The tablet app is for monitors and team leaders.",
                             "errors": {}}, status=403)  # fmt: skip
    patrols = [
        {
            "id": plan.pk,
            "purpose": plan.purpose,
            "status": plan.status,
            "status_label": plan.get_status_display(),
            "forward_base": plan.forward_base.name,
            "team_leader": plan.team_leader.get_full_name() or plan.team_leader.get_username(),
            "planned_departure": plan.planned_departure.isoformat(),
            "planned_return": plan.planned_return.isoformat(),
        }
        for plan in patrols_for_tablet(user=request.user, now=timezone.now())
    ]
    return JsonResponse({"patrols": patrols, "fetched_at": timezone.now().isoformat()})

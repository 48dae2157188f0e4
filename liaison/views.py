"""Liaison pages, mounted at /liaison/. Same need-to-know rules as the API
(liaison.selectors): liaison officers, coordinators and administrators see contacts and the
log; monitors and team leaders see the hotline numbers of their own sector (another
sector's contact is a 404); headquarters and duty officers see counts. Every read of a
contact's details is logged; refusals answer 403 and are logged to `missionapp.security`.
"""

import logging

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.maps import MapPoint, MapPolygon, render_map_svg
from core.pages import apply_service_errors, mission_page, page
from liaison import selectors, services
from liaison.forms import ContactSearchForm, LogEntryForm
from liaison.models import Contact, ContactAccessLog, FollowUp
from liaison.selectors import Access, contact_access

security_log = logging.getLogger("missionapp.security")
LIST_LIMIT = 200
# The service names the first follow-up's fields; the form has one follow-up.
FOLLOW_UP_FIELDS = {"follow_ups.0.action": "follow_up_action",
                    "follow_ups.0.due_on": "follow_up_due_on"}  # fmt: skip


def liaison_page(view):
    """A mission page (login, 403 page saying why, logged) that no cache may keep: contacts'
    details must not stay in a browser or a proxy."""
    return never_cache(mission_page(view))


def require(allowed: bool) -> None:
    """Refuse (the 403 page saying why) unless the liaison.selectors predicate allowed it."""
    if not allowed:
        raise PermissionDenied(selectors.NEED_TO_KNOW)


@require_GET
@liaison_page
def contact_list(request):
    access = contact_access(request.user)
    require(selectors.can_see_contact_counts(request.user))
    if access == Access.COUNTS:
        counts = selectors.contact_counts(user=request.user)
        return page(request, "liaison/contact_counts.html", {"counts": counts})
    form = ContactSearchForm(request.GET or None)
    # A bad search value is shown beside its field (a 400), every contact listed below.
    invalid = form.is_bound and not form.is_valid()
    filters = {} if invalid or not form.is_bound else form.cleaned_data
    contacts = list(
        selectors.contact_list(
            user=request.user,
            search=filters.get("q") or "",
            party=filters["party"].code if filters.get("party") else "",
            sector=filters["sector"].pk if filters.get("sector") else None,
        )[:LIST_LIMIT]
    )
    if access == Access.HOTLINE:
        # Hotline numbers are a contact's details: the listing is a read of each.
        services.contact_read_log(user=request.user, contacts=contacts, via="page")
    return page(request, "liaison/contact_list.html", {
        "form": form, "contacts": contacts, "full": access == Access.FULL,
        "limit": LIST_LIMIT,
    }, status=400 if invalid else 200)  # fmt: skip


def _visible_contact(request, pk):
    require(selectors.can_see_contacts(request.user))
    contact = selectors.contact_get(user=request.user, pk=pk)
    if contact is None:
        # Another sector's contact does not exist for a monitor (no hint it is there), but
        # the attempt is worth an operator's attention.
        if Contact.objects.filter(pk=pk).exists():
            security_log.warning("hidden contact #%s asked for by %s: %s", pk,
                                 request.user.get_username(), request.path)  # fmt: skip
        raise Http404("No such contact.")
    return contact


@require_GET
@liaison_page
def contact_detail(request, pk):
    contact = _visible_contact(request, pk)
    services.contact_read_log(user=request.user, contacts=[contact], via=ContactAccessLog.Via.PAGE)
    full = selectors.can_keep_contacts(request.user)
    entries = selectors.log_entry_list(user=request.user, contact=contact) if full else []
    return page(request, "liaison/contact_detail.html", {
        "contact": contact, "full": full, "entries": entries,
    })  # fmt: skip


@require_http_methods(["GET", "POST"])
@liaison_page
def log_entry_create(request, pk):
    require(selectors.can_keep_contacts(request.user))
    contact = _visible_contact(request, pk)
    initial = {
        "occurred_at": timezone.localtime().replace(second=0, microsecond=0),
        "initiating_party": contact.party,
        "sector": contact.sectors.first(),
    }
    form = LogEntryForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        follow_ups = []
        if data["follow_up_action"]:
            follow_ups = [services.FollowUpSpec(data["follow_up_action"], data["follow_up_owner"],
                                                data["follow_up_due_on"])]  # fmt: skip
        try:
            services.log_entry_create(
                by=request.user, occurred_at=data["occurred_at"], kind=data["kind"],
                topic=data["topic"], summary=data["summary"], outcome=data["outcome"],
                initiating_party=data["initiating_party"], sector=data["sector"],
                participants=[contact], mission_staff=[request.user], follow_ups=follow_ups,
            )  # fmt: skip
        except ValidationError as exc:
            apply_service_errors(exc, form, fields=FOLLOW_UP_FIELDS)
        else:
            return redirect("liaison-contact", pk=contact.pk)
    return page(request, "liaison/log_entry_form.html", {"contact": contact, "form": form},
                status=400 if request.method == "POST" else 200)  # fmt: skip


@require_GET
@liaison_page
def contact_map(request):
    """Where the mission has contacts: each sector tinted by, and labelled with, its number of
    current contacts (no names: headquarters and duty officers see it too)."""
    require(selectors.can_see_sector_figures(request.user))
    rows = selectors.contact_counts_by_sector(user=request.user)
    most = max([count for _, count in rows] + [1])
    layers = []
    for sector, count in rows:
        for polygon in sector.geom:
            layers.append(MapPolygon(rings=[polygon.exterior_ring.coords], fill="#0b4f9c",
                                     fill_opacity=0.08 + 0.4 * count / most, stroke="#0b4f9c",
                                     width=1))  # fmt: skip
        spot = sector.geom.point_on_surface
        layers.append(MapPoint(lon=spot.x, lat=spot.y, number=count, label=sector.name))
    svg = render_map_svg(layers=layers, width=900, height=640, settlement_labels=False)
    return page(request, "liaison/contact_map.html", {"svg": svg, "rows": rows})


@require_POST
@liaison_page
def follow_up_done(request, pk):
    require(selectors.can_keep_contacts(request.user))
    follow_up = get_object_or_404(FollowUp, pk=pk)
    services.follow_up_done(by=request.user, follow_up=follow_up)
    messages.success(request, f"Done: {follow_up.action}")
    return redirect("liaison-follow-ups")


@require_GET
@liaison_page
def follow_ups(request):
    """The liaison officer's dashboard: open follow-ups, overdue first."""
    require(selectors.can_keep_contacts(request.user))
    today = timezone.localdate()
    rows = list(selectors.follow_ups_open(user=request.user))
    return page(request, "liaison/follow_ups.html", {
        "overdue": [r for r in rows if r.due_on < today],
        "upcoming": [r for r in rows if r.due_on >= today],
        "today": today,
    })  # fmt: skip

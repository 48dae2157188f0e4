"""The demo is what people see first, and what someone with a stolen login probes first: as
every demo user (one per role, and the monitors and team leaders of every other forward
base), on the demo data, no page answers a server error. Each user asks for:

- every link from the home page, two levels deep (home, its links, their links), no sampling;
- every URL of the URLconf that takes no parameter;
- every object page of each kind, enumerated from the database (`KINDS`): every patrol plan's
  page, edit and review page, every incident's page, every liaison contact's page and log
  form, every daily summary and each of its stored files;
- the other URLs that take an object (the API's objects, the downloads: itinerary PDF and GPX,
  summary JSON, attachments; and the POST-only actions, which must refuse a GET) for a
  sample of `SAMPLE` objects of each kind, spread over the table;
- and, for users who can reach the admin, its index, each app's index, each model's
  changelist and add page, and one change page per model (the others: the admin's index).

Any 5xx fails the test, which lists every such URL with its user. A URL pattern the crawl
does not know fails it too: a new kind of page is crawled from the day it is added.

Timings on this 2-core VM are in the README's security section; `CRAWL_TIMINGS=1` prints them.
"""

import hashlib
import io
import os
import time
from collections import Counter
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve, reverse
from PIL import Image

from core.management.commands.demo_users import DEMO_USERS
from core.models import DeviceToken, User
from liaison.models import Contact, FollowUp
from liaison.selectors import contact_list
from patrols.models import ItineraryNotification, PatrolPlan
from patrols.selectors import patrol_plan_list
from patrols.services.notifications import ack_token
from reports.models import Attachment, DailySummary, IncidentReport, PhotoUpload, SummaryArtefact
from reports.selectors import incident_report_list
from reports.services.attachments import attachment_store
from reports.services.uploads import photo_upload_start

pytestmark = [pytest.mark.django_db, pytest.mark.long]
DEPTH = 2
SAMPLE = 3
# Not fetched: logging out would end the crawl's session; static files are not served by
# Django in tests (nor in production: whitenoise/nginx).
SKIP_PREFIXES = ("/logout/", "/admin/logout/", "/static/", "/media/")
SKIP_NAMES = {"logout"}


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href") if tag == "a" else None
        if href and href.startswith("/") and not href.startswith("//"):
            self.found.append(href.split("#")[0])


def spread(items, n=SAMPLE):
    """n items spread over the list (first, middle, last...), not the n first alike."""
    items = list(items)
    if len(items) <= n:
        return items
    if n == 1:
        return [items[len(items) // 2]]
    step = (len(items) - 1) / (n - 1)
    return [items[round(i * step)] for i in range(n)]


# --- What each URL parameter is, from the database ------------------------------------------


def _plans(user=None):
    plans = patrol_plan_list(user=user) if user else PatrolPlan.objects.all()
    return [{"pk": pk} for pk in plans.order_by("pk").values_list("pk", flat=True)]


def _notified_plans(user=None):
    plans = PatrolPlan.objects.filter(version__gt=0).order_by("pk").values_list("pk", flat=True)
    return [{"pk": pk} for pk in plans]


def _incidents(user=None):
    incidents = incident_report_list(user=user) if user else IncidentReport.objects.all()
    return [{"uuid": u} for u in incidents.order_by("observed_at").values_list("uuid", flat=True)]


def _contacts(user=None):
    contacts = contact_list(user=user) if user else Contact.objects.all()
    return [{"pk": pk} for pk in contacts.order_by("pk").values_list("pk", flat=True)]


def _summaries(user=None):
    return [{"year": s.year, "number": s.number} for s in DailySummary.objects.order_by("pk")]


def _summary_files(user=None):
    artefacts = SummaryArtefact.objects.select_related("revision__summary").order_by("pk")
    return [
        {"year": a.revision.summary.year, "number": a.revision.summary.number,
         "revision": a.revision.number, "level": a.level, "fmt": a.format}
        for a in artefacts.defer("data")
    ]  # fmt: skip


def _notifications(user=None):
    return [{"pk": pk} for pk in ItineraryNotification.objects.values_list("pk", flat=True)]


def _ack_links(user=None):
    return [{"token": ack_token(n)} for n in ItineraryNotification.objects.order_by("pk")]


def _attachment_files(user=None):
    return [
        {"uuid": a.report.uuid, "sha256": a.sha256, "variant": variant}
        for a in Attachment.objects.select_related("report").order_by("pk")
        for variant in ("thumbnail", "display", "original")
    ]


def _uploads(user=None):
    return [
        {"uuid": u.report.uuid, "sha256": u.sha256}
        for u in PhotoUpload.objects.select_related("report").order_by("pk")
    ]


def _follow_ups(user=None):
    return [{"pk": pk} for pk in FollowUp.objects.values_list("pk", flat=True)]


def _tiles(user=None):
    # The demo's base layer, when one is loaded (bin/demo), around Kapan; 404s otherwise.
    return [{"z": z, "x": x, "y": y, "fmt": "png"}
            for z, x, y in ((6, 40, 24), (8, 161, 97), (10, 644, 390))]  # fmt: skip


def _device_tokens(user=None):
    return [{"token_key": "current"}] + [
        {"token_key": key} for key in DeviceToken.objects.values_list("token_key", flat=True)
    ]


# name → (the URL's parameters for each object, every object or a sample)
EVERY, SAMPLED = "every", "sampled"
KINDS = {
    # The pages: every object.
    "patrol-detail": (_plans, EVERY),
    "patrol-edit": (_plans, EVERY),
    "patrol-review": (_plans, EVERY),
    "incident-detail": (_incidents, EVERY),
    "liaison-contact": (_contacts, EVERY),
    "liaison-log-new": (_contacts, EVERY),
    "summary-detail": (_summaries, EVERY),
    "summary-file": (_summary_files, EVERY),
    "api-incident-report-attachment-file": (_attachment_files, EVERY),
    # Public acknowledgement links, downloads and the API's objects: a sample.
    "itinerary-ack": (_ack_links, SAMPLED),
    "api-patrol": (_plans, SAMPLED),
    "api-patrol-checks": (_plans, SAMPLED),
    "api-patrol-restrictions": (_plans, SAMPLED),
    "api-patrol-gpx": (_notified_plans, SAMPLED),
    "api-patrol-pdf": (_notified_plans, SAMPLED),
    "api-incident-report": (_incidents, SAMPLED),
    "api-incident-report-attachments": (_incidents, SAMPLED),
    "api-incident-report-uploads": (_incidents, SAMPLED),
    "api-incident-report-upload": (_uploads, SAMPLED),
    "api-liaison-contact": (_contacts, SAMPLED),
    "api-summary": (_summaries, SAMPLED),
    "api-summary-content": (_summaries, SAMPLED),
    "api-summary-file": (_summary_files, SAMPLED),
    "api-device-revoke": (_device_tokens, SAMPLED),
    "basemap-tile": (_tiles, SAMPLED),
    # POST-only actions: a GET must be refused (405, or 403/404 first), never a crash.
    **{name: (_plans, SAMPLED) for name in (
        "patrol-submit", "patrol-cancel", "patrol-start", "patrol-complete", "patrol-abort",
        "patrol-approve", "patrol-return", "api-patrol-submit", "api-patrol-return",
        "api-patrol-approve", "api-patrol-amend", "api-patrol-cancel", "api-patrol-start",
        "api-patrol-complete", "api-patrol-abort", "api-patrol-track",
    )},
    **{name: (_notifications, SAMPLED) for name in (
        "patrol-notification-acknowledge", "patrol-notification-objection",
        "patrol-notification-retry", "api-notification-acknowledge",
        "api-notification-objection", "api-notification-retry",
    )},
    **{name: (_incidents, SAMPLED) for name in (
        "incident-review", "incident-verify", "incident-link", "api-incident-report-review",
        "api-incident-report-verify", "api-incident-report-submit",
    )},
    **{name: (_follow_ups, SAMPLED) for name in (
        "liaison-follow-up-done", "api-liaison-follow-up-done",
    )},
}  # fmt: skip


def url_patterns(resolver=None, prefix=""):
    """(name, route, takes parameters) of every URL outside the admin (crawled apart)."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue
            yield from url_patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            yield entry.name, route, bool(entry.pattern.converters) or "<" in route


def unknown_patterns():
    return [f"{name}: /{route}" for name, route, has_parameters in url_patterns()
            if has_parameters and name not in KINDS]  # fmt: skip


def planned_urls(user, full: bool):
    """The URLs this user asks for besides the links, by kind.

    Each role's first demo user (`full`) asks for every object of each page kind, the others
    (the same role at another base) for every object their own role shows them (what the
    app's selectors list for them) and a sample of the rest: the rest is refused by the
    same rule the full user already met on every object."""
    by_kind = {}
    for name, _, has_parameters in url_patterns():
        if name in SKIP_NAMES:
            continue
        if not has_parameters:
            by_kind[name] = [reverse(name)]
            continue
        objects, how = KINDS[name]
        if how == EVERY and full:
            chosen = objects()
        elif how == EVERY:
            chosen = objects(user) + spread(objects())
        else:
            chosen = spread(objects(), SAMPLE if full else 1)
        by_kind[name] = list(dict.fromkeys(reverse(name, kwargs=kwargs) for kwargs in chosen))
    return by_kind


def admin_urls(staff: bool):
    """The admin's index; for staff also each app's index and, per model, the changelist, the
    add page and the first object's change page (those the model's admin has)."""
    urls = {"admin:index": [reverse("admin:index")]}
    if not staff:
        return urls
    names = {p.name for model_admin in admin.site._registry.values() for p in model_admin.urls}
    for model in admin.site._registry:
        meta = model._meta
        info = f"{meta.app_label}_{meta.model_name}"
        urls.setdefault("admin:app_list", set()).add(
            reverse("admin:app_list", kwargs={"app_label": meta.app_label})
        )
        for view in ("changelist", "add"):
            if f"{info}_{view}" in names:
                urls[f"admin:{info}_{view}"] = [reverse(f"admin:{info}_{view}")]
        first = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
        if first is not None and f"{info}_change" in names:
            urls[f"admin:{info}_change"] = [reverse(f"admin:{info}_change", args=[first])]
    urls["admin:app_list"] = sorted(urls["admin:app_list"])
    return urls


class Crawl:
    """One user's crawl: each URL fetched once; every status kept by URL."""

    def __init__(self, client):
        self.client, self.status, self.failures = client, {}, []

    def get(self, url):
        if url in self.status or url.startswith(SKIP_PREFIXES):
            return None
        response = self.client.get(url)
        self.status[url] = response.status_code
        if response.status_code >= 500:
            self.failures.append((response.status_code, url))
        return response

    def follow_links(self, start="/", depth=DEPTH):
        level = [start]
        for remaining in range(depth, -1, -1):
            found = []
            for url in level:
                response = self.get(url)
                if remaining == 0 or response is None or response.status_code != 200:
                    continue
                if "text/html" in response.get("Content-Type", ""):
                    parser = Links()
                    parser.feed(response.content.decode())
                    found.extend(parser.found)
            level = list(dict.fromkeys(link for link in found if link not in self.status))


def url_name(url):
    try:
        return resolve(url.split("?")[0]).url_name
    except Resolver404:
        return None


def make_attachment():
    """Demo reports have no attachment: one photo, so its three files are crawled too."""
    report = IncidentReport.objects.filter(author__username="monitor").order_by("pk").first()
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (90, 120, 60)).save(out, "JPEG")
    data = out.getvalue()
    attachment_store(report=report, by=report.author, data=data, name="photo.jpg",
                     declared_sha256=hashlib.sha256(data).hexdigest())  # fmt: skip
    # And a photo half sent in parts: its upload is crawled too.
    photo_upload_start(report=report, by=report.author, sha256="cd" * 32, size=4096)


def test_every_demo_user_crawls_every_page_without_a_server_error(demo_data, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    make_attachment()
    unknown = unknown_patterns()
    assert unknown == [], f"URL patterns the crawl does not know (add them to KINDS): {unknown}"
    # Every kind has objects to ask for: an empty kind would be crawled by nobody.
    assert [name for name, (objects, _) in KINDS.items() if not objects()] == []

    failures, ok_by_kind, timings, linked = [], Counter(), {}, {}
    kind_cpu, roles_seen, statuses = Counter(), set(), {}
    for spec in DEMO_USERS:
        started = time.process_time()
        full = spec.role not in roles_seen
        roles_seen.add(spec.role)
        user = User.objects.get(username=spec.username)
        client = Client(raise_request_exception=False)
        client.force_login(user)
        crawl = Crawl(client)
        crawl.follow_links()
        linked[spec.username] = set(crawl.status)
        plan = {**planned_urls(user, full), **admin_urls(spec.is_staff)}
        for name, urls in plan.items():
            kind_started = time.process_time()
            for url in urls:
                crawl.get(url)
                ok_by_kind[name] += crawl.status.get(url) == 200
            kind_cpu[name] += time.process_time() - kind_started
        failures += [f"{spec.username}: {code} {url}" for code, url in crawl.failures]
        statuses[spec.username] = crawl.status
        timings[spec.username] = (len(crawl.status), time.process_time() - started)

    if os.environ.get("CRAWL_TIMINGS"):
        total = sum(n for n, _ in timings.values())
        seconds = sum(t for _, t in timings.values())
        print(f"\ncrawl: {total} requests, {seconds:.1f} s CPU")
        for username, (n, t) in timings.items():
            print(f"  {username}: {n} requests, {t:.1f} s CPU")
        for name, t in kind_cpu.most_common(15):
            print(f"  {name}: {t:.1f} s CPU")
    assert failures == [], f"{len(failures)} server errors:\n" + "\n".join(failures)

    # The crawl reached what matters, or it proves nothing: each page kind and each admin
    # changelist answered 200 to someone, and the links led to each patrol's and each
    # incident's own page.
    pages = [name for name, (_, how) in KINDS.items() if how == EVERY]
    assert [name for name in pages if ok_by_kind[name] == 0] == []
    changelists = [name for name in ok_by_kind if name.endswith("_changelist")]
    assert len(changelists) == len(admin.site._registry)
    unused = [name for name in changelists if ok_by_kind[name] == 0]
    assert unused == [], f"admin lists no demo user can open (nobody could manage them): {unused}"
    for username in ("coordinator", "duty_officer", "team_leader"):
        kinds = {url_name(url) for url in linked[username]}
        assert {"patrol-detail", "incident-detail"} <= kinds, (username, kinds)
    # What the lists show a user, their pages open (plans without an author answered 500).
    for username, name, listed in (
        ("coordinator", "patrol-detail", _plans),
        ("team_leader", "patrol-detail", _plans),
        ("duty_officer", "incident-detail", _incidents),
        ("monitor", "incident-detail", _incidents),
        ("liaison_officer", "liaison-contact", _contacts),
    ):
        user = User.objects.get(username=username)
        urls = [reverse(name, kwargs=kwargs) for kwargs in listed(user)]
        assert urls, (username, name)
        refused = [url for url in urls if statuses[username][url] != 200]
        assert refused == [], (username, refused)

"""The demo is what people see first: every page reachable from the home page, as every demo
user, on the demo data, answers without a server error (and a refusal is a 403 page, not a
crash). Links are followed breadth-first; pages that differ only by an id are sampled."""

import re
from collections import Counter, deque
from html.parser import HTMLParser

import pytest
from django.test import Client

from core.management.commands.demo_users import DEMO_USERS
from core.models import User
from reports.tests.test_demo_data import demo_data as demo_data  # noqa: F401  (fixtures)
from reports.tests.test_demo_data import frozen_now as frozen_now  # noqa: F401
from reports.tests.test_demo_data import var_dir as var_dir  # noqa: F401

pytestmark = pytest.mark.django_db
# Pages of one kind (the same URL with another id) visited per user; more adds time, not cover.
PER_KIND = 3
SKIP = re.compile(r"^/(logout|admin/logout|static|media)/|/download|\.(pdf|gpx|csv|json|geojson)")


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href") if tag == "a" else None
        if href and href.startswith("/") and not href.startswith("//"):
            self.found.append(href.split("#")[0])


def kind(url):
    path, _, query = url.partition("?")
    path = re.sub(r"/[0-9a-f-]{36}/", "/<uuid>/", path)
    path = re.sub(r"/\d+/", "/<id>/", path)
    return path + ("?" if query else "")


def crawl(client, start="/", limit=400):
    seen, per_kind, failures, statuses = set(), Counter(), [], Counter()
    queue = deque([start])
    while queue and len(seen) < limit:
        url = queue.popleft()
        if url in seen or SKIP.search(url) or per_kind[kind(url)] >= PER_KIND:
            continue
        seen.add(url)
        per_kind[kind(url)] += 1
        response = client.get(url)
        statuses[response.status_code] += 1
        if response.status_code >= 500:
            failures.append(url)
            continue
        if "text/html" in response.get("Content-Type", "") and response.status_code == 200:
            parser = Links()
            parser.feed(response.content.decode())
            queue.extend(link for link in parser.found if link not in seen)
    return seen, failures, statuses


def test_every_demo_user_crawls_every_page_without_a_server_error(demo_data):  # noqa: F811
    crawled = {}
    for spec in DEMO_USERS:
        client = Client(raise_request_exception=False)
        client.force_login(User.objects.get(username=spec.username))
        seen, failures, statuses = crawl(client)
        assert failures == [], f"{spec.username}: 5xx on {failures[:10]}"
        crawled[spec.username] = {kind(url) for url in seen}
    # The crawl reached the pages that matter: each patrol's and each incident's own page.
    for username in ("coordinator", "duty_officer", "team_leader"):
        assert {"/patrols/<id>/", "/incidents/<uuid>/"} <= crawled[username], crawled[username]

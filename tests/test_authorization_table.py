"""Every page in the URLconf and every operation in the OpenAPI schema, for every role and
every ownership relation of the object, answers as tests/authorization_table.py declares.

The world is small and made for the purpose: at four forward bases (two in Syunik, two in
Vayots Dzor) each filing user has a draft and a filed report (with a photo), each base has
plans in every state that matters with a known crew, contacts with and without a hotline in
both sectors, a follow-up, a device per user and one daily summary. For each rule, role and
relation the test takes an object in that relation to the user and makes the request:

- a read (GET) must answer exactly the declared outcome, in every cell;
- a write answers the declared refusal (403 or 404, never a 400: permission comes before
  validation) with an empty body, and a role that is allowed is not refused (a 400 for the
  empty body is fine). Every write runs in a savepoint that is rolled back, so the cells do
  not depend on each other's order;
- every 403 is logged to `missionapp.security`.

Mismatches are collected and reported together, grouped by operation.
"""

import io
import logging
from collections import defaultdict
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from PIL import Image

from tests import authorization_table as T

pytestmark = [pytest.mark.django_db, pytest.mark.long]

TABLE_FILE = "tests/authorization_table.py"
USERNAMES = {
    T.MONITOR: "monitor",  # Kapan, Syunik
    T.OTHER_MONITOR: "dimitris.papadakis",  # Jermuk, Vayots Dzor
    T.TEAM_LEADER: "team_leader",  # Kapan
    T.COORDINATOR: "coordinator",
    T.DUTY_OFFICER: "duty_officer",
    T.LIAISON_OFFICER: "liaison_officer",  # Goris: a base, but no field role
    T.HEADQUARTERS: "headquarters",
    T.ADMINISTRATOR: "administrator",  # the demo superuser, held to the Administrator row
}
# What some reads need to be a read at all (not a 400 for a missing parameter).
QUERIES = {
    "GET /api/geography/locate/": {"lat": "39.2", "lon": "46.4"},
    "GET /api/reports/map/": {"zoom": "8", "bbox": "43.4,38.8,46.7,41.3"},
    "GET /api/liaison/hotline-activations/": {
        "start": "2020-01-01T00:00:00Z", "end": "2030-01-01T00:00:00Z",
    },
}  # fmt: skip


# --- The URLconf and the schema ----------------------------------------------------------------


def url_patterns(resolver=None, prefix="", namespace=""):
    """(name with namespace, route, converter names, callback) of every pattern, recursively."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from url_patterns(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            yield f"{namespace}{entry.name}", route, list(entry.pattern.converters), entry.callback


def schema_operations():
    from drf_spectacular.generators import SchemaGenerator

    generator = SchemaGenerator()
    schema = generator.get_schema(request=None, public=True)
    operations = {
        f"{method.upper()} {path}"
        for path, item in schema["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    # Views the schema leaves out (the schema and its docs pages themselves) are pages. The
    # schema calls a `pk` parameter `id` (SCHEMA_COERCE_PATH_PK).
    views = {
        callback.cls for path, _regex, _method, callback in generator.endpoints
        if path.replace("{pk}", "{id}") in schema["paths"]
    }  # fmt: skip
    return operations, views


def page_names():
    """Every page pattern not described by the schema; of the admin only its index (the admin
    is its own subsystem: its model pages are scoped in each app's admin.py)."""
    _, api_views = schema_operations()
    names = set()
    for name, _route, _converters, callback in url_patterns():
        if getattr(callback, "cls", None) in api_views:
            continue
        if name.startswith("admin:") and name != "admin:index":
            continue
        names.add(name)
    return names


def test_every_operation_in_the_schema_is_declared_in_the_table():
    operations, _ = schema_operations()
    declared = {rule.operation for rule in T.API}

    missing = sorted(operations - declared)
    assert not missing, (
        f"These API operations are not in {TABLE_FILE}: declare, for every role and ownership "
        "relation, who may call them:\n  " + "\n  ".join(missing)
    )
    stale = sorted(declared - operations)
    assert not stale, f"{TABLE_FILE} declares operations the schema no longer has: {stale}"


def test_every_page_in_the_urlconf_is_declared_in_the_table():
    declared = {rule.operation.split(" page:", 1)[1] for rule in T.PAGES}
    pages = page_names()

    missing = sorted(pages - declared)
    assert not missing, (
        f'These URL patterns are not in {TABLE_FILE}: declare each page ("GET page:<url name>"'
        ", and POST if it takes one) with who may open it:\n  " + "\n  ".join(missing)
    )
    assert not declared - pages, f"{TABLE_FILE} declares pages the URLconf no longer has"


def test_every_rule_names_every_role_and_every_relation():
    for rule in T.TABLE:
        assert set(rule.outcomes) == set(T.ROLES), rule.operation
        for role, outcome in rule.outcomes.items():
            cells = outcome.values() if isinstance(outcome, dict) else [outcome]
            assert all(c in (T.OK, T.HIDDEN, T.REFUSED, T.LOGIN) for c in cells), (
                f"{rule.operation} {rule.subject} {role}: {outcome}"
            )


# --- The world ---------------------------------------------------------------------------------


def _png():
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (90, 120, 60)).save(buffer, format="PNG")
    return buffer.getvalue()


def _base_relation(user, base):
    if user.forward_base_id is None or base is None:
        return "other"
    if base.pk == user.forward_base_id:
        return "same_base"
    return "same_sector" if base.province_id == user.forward_base.province_id else "other"


class World:
    """The objects each rule is tried on, and each one's relation to a user."""

    def __init__(self):
        self.objects = defaultdict(list)  # subject → [(object, params)]

    def add(self, subject, obj, **params):
        self.objects[subject].append((obj, params))

    def relation(self, subject, obj, user):
        kind = subject.split(".")[0]
        if kind in ("report", "attachment", "upload"):
            report = obj.report if kind in ("attachment", "upload") else obj
            if report.author_id == user.pk:
                return "own"
            return _base_relation(user, report.author.forward_base)
        if kind == "plan":
            crew = {obj.author_id, obj.team_leader_id, *(m.pk for m in obj.monitors.all())}
            return "own" if user.pk in crew else _base_relation(user, obj.forward_base)
        if kind == "notification":
            return _base_relation(user, obj.version.plan.forward_base)
        if kind == "contact":
            sector = user.forward_base.province_id if user.forward_base_id else None
            return "same_sector" if sector in {s.pk for s in obj.sectors.all()} else "other"
        if kind == "follow_up":
            return "own" if obj.owner_id == user.pk else "other"
        if kind == "device":
            return "own" if obj.user_id == user.pk else "other"
        return "other"  # a summary belongs to the mission

    def by_relation(self, subject, user):
        """relation → params of one object of `subject` in that relation to `user`."""
        found = {}
        for obj, params in self.objects[subject]:
            found.setdefault(self.relation(subject, obj, user) if user else "other", params)
        return found


@pytest.fixture
def world(geography, settings, tmp_path, basemap):
    from conftest import restore_role_groups
    from core.models import DeviceToken, ForwardBase, User
    from core.tests.factories import UserFactory
    from liaison.models import Contact, ContactChannel, FollowUp, LogEntry, Party
    from patrols.models import PatrolPlan
    from patrols.services import patrol_plan_create
    from patrols.services.history import itinerary_history_record
    from patrols.services.notifications import ack_token
    from reports.management.commands.demo_data import ROUTES
    from reports.models import IncidentReport
    from reports.services.uploads import photo_upload_start
    from reports.summaries.services import last_cutoff, summary_produce
    from reports.tests.factories import AttachmentFactory, IncidentReportFactory

    settings.VAR_DIR = tmp_path  # the demo users' logins file
    restore_role_groups()
    call_command("demo_users", stdout=io.StringIO())
    users = {u.username: u for u in User.objects.select_related("forward_base")}
    # A second team leader at Kapan: a plan of the team leader's base that is not theirs.
    users["kapan.tl2"] = UserFactory(
        username="kapan.tl2", roles=["team_leader"],
        forward_base=ForwardBase.objects.get(name="Kapan"),
    )  # fmt: skip
    world = World()
    now = timezone.now()
    S = IncidentReport.Status

    photo = _png()
    for author in ("monitor", "anna.schmidt", "team_leader", "sofia.ruiz", "dimitris.papadakis",
                   "ines.carvalho", "laura.bianchi"):  # fmt: skip
        user = users[author]
        for status in (S.DRAFT, S.SUBMITTED):
            report = IncidentReportFactory(
                author=user, observed_at=now - timedelta(hours=2),
                location=user.forward_base.location, category=IncidentReport.Category.DRONE,
                severity=2, description=f"A drone over {user.forward_base}.", status=status,
            )  # fmt: skip
            world.add(f"report.{'draft' if status == S.DRAFT else 'filed'}", report,
                      uuid=report.uuid)  # fmt: skip
            if status == S.SUBMITTED:
                attachment = AttachmentFactory(report=report, data=photo, name="photo.png")
                for variant in ("display", "original"):
                    world.add(f"attachment.{variant}", attachment, uuid=report.uuid,
                              sha256=attachment.sha256, variant=variant)  # fmt: skip
                # A photo half uploaded in parts.
                upload, _ = photo_upload_start(report=report, by=user, sha256="ab" * 32,
                                               size=1024)  # fmt: skip
                world.add("upload.filed", upload, uuid=report.uuid, sha256=upload.sha256)

    for code, email in (("armenia", "mod@armenia.test"), ("azerbaijan", "sbs@azerbaijan.test")):
        fallback = Contact.objects.create(
            party=Party.objects.get(code=code), name_latin=f"{code} duty desk",
            receives_itineraries=True, is_party_fallback=True,
        )  # fmt: skip
        ContactChannel.objects.create(contact=fallback, kind="email", value=email, preferred=True)

    P = PatrolPlan.Status
    timing = {  # departure from now, and the subject the plans of this state stand for
        P.DRAFT: (timedelta(days=5), "plan.draft"),
        P.SUBMITTED: (timedelta(days=3), "plan.filed"),
        P.NOTIFIED: (timedelta(days=1), "plan.notified"),
        P.UNDER_WAY: (-timedelta(hours=2), "plan.under_way"),
    }
    crews = [  # base, team leader, monitors on the patrol
        ("Kapan", "team_leader", ["monitor"]),
        ("Kapan", "kapan.tl2", ["anna.schmidt"]),
        ("Goris", "lukas.berger", ["sofia.ruiz"]),
        ("Jermuk", "ines.carvalho", ["dimitris.papadakis"]),
        ("Jermuk", "ines.carvalho", []),
        ("Yeghegnadzor", "mikkel.jensen", ["laura.bianchi"]),
    ]
    for status, (offset, subject) in timing.items():
        for base_name, leader, monitors in crews:
            leader = users[leader]
            plan = patrol_plan_create(
                forward_base=leader.forward_base, team_leader=leader, author=leader,
                purpose=f"Patrol from {base_name}", planned_departure=now + offset,
                planned_return=now + offset + timedelta(hours=8),
                route=ROUTES[base_name][0].line, monitors=[users[m] for m in monitors],
                status=status,
            )  # fmt: skip
            world.add(subject, plan, pk=plan.pk, id=plan.pk)
            if status in (P.NOTIFIED, P.UNDER_WAY):
                version = itinerary_history_record(
                    plan=plan, approved_by=users["coordinator"],
                    approved_at=now - timedelta(days=2), acknowledged_at={},
                )  # fmt: skip
                for notification in version.notifications.select_related("version__plan"):
                    world.add("notification", notification, pk=notification.pk,
                              id=notification.pk, token=ack_token(notification))  # fmt: skip

    sectors = {base.province.name: base.province for base in ForwardBase.objects.all()}
    for sector in ("Syunik", "Vayots Dzor"):
        for hotline in (True, False):
            contact = Contact.objects.create(
                party=Party.objects.get(code="armenia"), name_latin=f"Officer {sector}",
                position="Major",
            )  # fmt: skip
            contact.sectors.set([sectors[sector]])
            if hotline:
                ContactChannel.objects.create(contact=contact, kind="hotline",
                                              value="+374 10 000000", preferred=True)  # fmt: skip
            world.add(f"contact.{'hotline' if hotline else 'no_hotline'}", contact,
                      pk=contact.pk, id=contact.pk)  # fmt: skip
    entry = LogEntry.objects.create(
        occurred_at=now - timedelta(days=1), kind="hotline", topic="deescalation",
        sector=sectors["Syunik"], summary="Shots reported; both sides asked to verify.",
        recorded_by=users["liaison_officer"],
    )  # fmt: skip
    follow_up = FollowUp.objects.create(
        entry=entry, action="Report back", owner=users["liaison_officer"], due_on=now.date()
    )
    world.add("follow_up", follow_up, pk=follow_up.pk, id=follow_up.pk)

    for username in USERNAMES.values():
        # As the device login makes them: with the code of the roles that need one.
        token, _ = DeviceToken.objects.create(
            user=users[username], device_name="Tablet", second_factor=True
        )
        world.add("device", token, token_key=token.token_key)

    revision = summary_produce(period_end=last_cutoff(now))
    summary = revision.summary
    world.add("summary", summary, year=summary.year, number=summary.number,
              revision=revision.number, level="releasable", fmt="pdf")  # fmt: skip
    # A tile of the base layer (tests/basemap.py): the one holding Kapan at zoom 8.
    from core.basemap.tiles import tile_range

    kapan = ForwardBase.objects.get(name="Kapan").location
    x, y = tile_range((kapan.x, kapan.y, kapan.x, kapan.y), 8)[:2]
    world.add("tile", None, z=8, x=x, y=y, fmt="png")
    world.users = {role: users[name] for role, name in USERNAMES.items()}
    return world


def test_the_world_has_an_object_in_every_relation_for_the_field_roles(world):
    for subject in ("report.draft", "report.filed", "plan.draft", "plan.filed", "plan.notified",
                    "plan.under_way", "attachment.display"):  # fmt: skip
        for role in T.FIELD:
            found = set(world.by_relation(subject, world.users[role]))
            assert found == set(T.RELATIONS), (subject, role, found)
    assert set(world.by_relation("contact.hotline", world.users[T.MONITOR])) == {
        "same_sector",
        "other",
    }


# --- Walking the table -------------------------------------------------------------------------


class SecurityLog(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def outcome_of(response):
    code = response.status_code
    if code == 401:
        return T.LOGIN
    if code in (301, 302, 303):
        location = response.get("Location", "")
        return T.LOGIN if location.startswith(("/login/", "/admin/login/")) else T.OK
    if code < 300 or code == 304:
        return T.OK
    return {403: T.REFUSED, 404: T.HIDDEN}.get(code, f"status {code}")


def _agrees(expected, actual, write):
    if expected == T.OK and write:
        # Not refused: a 400 for the empty body (or 409/412/428: the state or a precondition)
        # is an answer to the request, not to the person.
        return actual == T.OK or actual in ("status 400", "status 409", "status 412",
                                            "status 428")  # fmt: skip
    return actual == expected


def _request(rule, params, pages):
    method, target = rule.operation.split(" ", 1)
    if target.startswith("page:"):
        name = target.removeprefix("page:")
        route_converters = pages[name]
        from django.urls import reverse

        return method, reverse(name, kwargs={k: params[k] for k in route_converters})
    return method, target.format(**params)


def _send(client, method, url, query, write):
    if method == "GET":
        return client.get(url, query)
    if method == "DELETE":
        return client.delete(url)
    if url.startswith("/api/"):
        return client.generic(method, url, b"{}", content_type="application/json")
    return client.post(url, {})


def walk(world, rules):
    pages = {name: converters for name, _route, converters, _cb in url_patterns()}
    handler = SecurityLog()
    security = logging.getLogger("missionapp.security")
    security.addHandler(handler)
    mismatches, requests = defaultdict(list), 0
    try:
        for role in T.ROLES:
            user = world.users.get(role)
            client = Client(raise_request_exception=False)
            if user is not None:
                client.force_login(user)
            for rule in rules:
                method = rule.operation.split(" ", 1)[0]
                write = method != "GET"
                cells = rule.outcomes[role]
                if rule.subject is None:
                    targets = {"other": {}}
                else:
                    targets = world.by_relation(rule.subject, user)
                for relation, params in targets.items():
                    expected = cells[relation] if isinstance(cells, dict) else cells
                    _, url = _request(rule, params, pages)
                    handler.records.clear()
                    with transaction.atomic():
                        response = _send(client, method, url, QUERIES.get(rule.operation), write)
                        transaction.set_rollback(True)
                    requests += 1
                    if rule.operation == "POST page:logout" and user is not None:
                        client.force_login(user)
                    actual = outcome_of(response)
                    where = f"{role:15} {relation:11} {url}"
                    if not _agrees(expected, actual, write):
                        mismatches[f"{rule.operation} [{rule.subject}]"].append(
                            f"{where}: expected {expected}, got {actual}"
                        )
                    elif actual == T.REFUSED and not handler.records:
                        mismatches[f"{rule.operation} [{rule.subject}]"].append(
                            f"{where}: refused but not logged to missionapp.security"
                        )
    finally:
        security.removeHandler(handler)
    return mismatches, requests


def _report(mismatches):
    lines = []
    for operation, rows in sorted(mismatches.items()):
        lines.append(operation)
        lines += [f"    {row}" for row in rows]
    return f"{sum(map(len, mismatches.values()))} cells disagree with {TABLE_FILE}:\n" + "\n".join(
        lines
    )


def test_the_api_answers_every_role_and_relation_as_the_table_declares(world):
    mismatches, requests = walk(world, T.API)
    assert not mismatches, _report(mismatches)
    assert requests >= len(T.API) * len(T.ROLES)  # every rule was tried for every role


def test_the_pages_answer_every_role_and_relation_as_the_table_declares(world):
    mismatches, requests = walk(world, T.PAGES)
    assert not mismatches, _report(mismatches)
    assert requests >= len(T.PAGES) * len(T.ROLES)


# --- What a status cannot show -------------------------------------------------------------------


def _plan_body(base, team_leader, monitors=()):
    from reports.management.commands.demo_data import ROUTES

    departure = timezone.now() + timedelta(days=4)
    return {
        "forward_base": base.pk, "team_leader": team_leader.username,
        "monitors": [m.username for m in monitors], "purpose": "Patrol to the border villages",
        "planned_departure": departure.isoformat(),
        "planned_return": (departure + timedelta(hours=8)).isoformat(),
        "route": {"type": "LineString", "coordinates": list(ROUTES[base.name][0].waypoints)},
    }  # fmt: skip


def test_a_team_leader_plans_only_for_their_own_base_and_its_own_people(users, caplog):
    from rest_framework.test import APIClient

    from core.models import ForwardBase
    from core.tests.factories import UserFactory
    from patrols.models import PatrolPlan

    leader = users["team_leader"]
    own = leader.forward_base
    other = ForwardBase.objects.exclude(pk=own.pk).order_by("name").first()
    stranger = UserFactory(username="t-stranger", roles=["monitor"], forward_base=other)
    api = APIClient()
    api.force_authenticate(leader)

    with caplog.at_level(logging.WARNING, logger="missionapp.security"):
        elsewhere = api.post("/api/patrols/", _plan_body(other, leader), format="json")
    assert elsewhere.status_code == 403, elsewhere.content
    assert "forward_base" in elsewhere.json()["detail"] and other.name in elsewhere.json()["detail"]
    assert any("refused POST /api/patrols/" in r.getMessage() for r in caplog.records)

    crew = api.post("/api/patrols/", _plan_body(own, leader, [stranger]), format="json")
    assert crew.status_code == 400, crew.content
    assert "t-stranger" in crew.json()["errors"]["monitors"][0]

    assert not PatrolPlan.objects.exists()
    made = api.post("/api/patrols/", _plan_body(own, leader), format="json")
    assert made.status_code == 201, made.content
    moved = api.patch(f"/api/patrols/{made.json()['id']}/", {"forward_base": other.pk},
                      format="json")  # fmt: skip
    assert moved.status_code == 403, moved.content
    assert PatrolPlan.objects.get().forward_base == own


def test_a_monitor_cannot_learn_the_order_of_names_it_cannot_see(users):
    from rest_framework.test import APIClient

    from liaison.models import Contact, ContactChannel, Party

    sector = users["monitor"].forward_base.province
    party = Party.objects.get(code="armenia")
    # Made in the reverse of their names' order: an order by name would show.
    for name in ("Zaven Zakaryan", "Mher Mkrtchyan", "Aram Abrahamyan"):
        contact = Contact.objects.create(party=party, name_latin=name, position="Major")
        contact.sectors.set([sector])
        ContactChannel.objects.create(contact=contact, kind="hotline", value="+374 10 000000")
    made = list(Contact.objects.order_by("pk").values_list("pk", flat=True))
    api = APIClient()
    api.force_authenticate(users["monitor"])

    for query in ("", "?ordering=name_latin", "?ordering=-name_latin"):
        response = api.get(f"/api/liaison/contacts/{query}")
        assert response.status_code == 200
        assert [c["id"] for c in response.json()["results"]] == made, query
        assert "name_latin" not in response.json()["results"][0]
    api.force_authenticate(users["liaison_officer"])
    by_name = api.get("/api/liaison/contacts/?ordering=name_latin").json()["results"]
    assert [c["id"] for c in by_name] == made[::-1]  # who sees the names sorts by them

"""Patrol fixtures on real geography: routes near Jermuk and along the Sotk road."""

import importlib

import pytest
from django.contrib.gis.geos import LineString, MultiPolygon, Point, Polygon

from core.models import ForwardBase, Province
from core.tests.factories import UserFactory
from liaison.models import Contact, ContactChannel, Party
from patrols.tests.factories import JERMUK_SOUTH, PatrolPlanFactory

JERMUK = Point(45.66949, 39.84168, srid=4326)
# Vardenis → Sotk → towards the Sotk pass, ending about 600 m from the border.
SOTK_ROAD = LineString((45.73053, 40.18329), (45.86472, 40.20306), (45.8689, 40.2555), srid=4326)
# A minefield across the Jermuk road, 3–5 km south of the town.
JERMUK_MINEFIELD = MultiPolygon(Polygon.from_bbox((45.66, 39.80, 45.72, 39.82)), srid=4326)


def restore_parties():
    """The parties come from data migrations, which a transactional test's flush empties:
    replay their rows (idempotent) into liaison.Party, where they live now."""
    rows = [
        *importlib.import_module("patrols.migrations.0004_parties_and_permissions").PARTIES,
        *importlib.import_module("liaison.migrations.0002_party_table_and_permissions").PARTIES,
    ]
    for code, name, always in rows:
        Party.objects.get_or_create(code=code, defaults={"name": name, "always_notified": always})


def email_recipient(party, email, name="", sectors=(), fallback=False, receives=True):
    """A liaison contact of the party who receives itineraries at this address."""
    contact = Contact.objects.create(
        party=party, name_latin=name or f"{party.name} duty desk",
        receives_itineraries=receives, is_party_fallback=fallback,
    )  # fmt: skip
    contact.itinerary_sectors.set(sectors)
    ContactChannel.objects.create(contact=contact, kind="email", value=email, preferred=True)
    return contact


@pytest.fixture
def recipients(geography):
    """Each always-notified party's duty desk, for every sector, as its fallback contact."""
    restore_parties()
    return {
        party.code: email_recipient(party, f"desk@{party.code}.example", fallback=True)
        for party in Party.objects.filter(always_notified=True)
    }


@pytest.fixture
def team(users):
    jermuk = ForwardBase.objects.get(name="Jermuk")
    leader = users["team_leader"]
    leader.forward_base = jermuk
    leader.save()
    monitor = UserFactory(username="t-jermuk-monitor", roles=["monitor"], forward_base=jermuk)
    second = UserFactory(username="t-coordinator-2", roles=["coordinator"], forward_base=None)
    return {"base": jermuk, "leader": leader, "monitor": monitor,
            "coordinator": users["coordinator"], "coordinator_2": second}  # fmt: skip


@pytest.fixture
def make_plan(team):
    """The team's draft plan south of Jermuk, ten days ahead (PatrolPlanFactory's traits pass
    through: `make_plan(submitted=True)`)."""

    def make(route=JERMUK_SOUTH, days_ahead=10, hours=6, **extra):
        fields = {
            "forward_base": team["base"],
            "team_leader": team["leader"],
            "author": team["leader"],
            "monitors": [team["monitor"]],
            "route": route,
            "days_ahead": days_ahead,
            "hours": hours,
            **extra,
        }
        return PatrolPlanFactory(**fields)

    return make


def sector(name):
    return Province.objects.get(name=name)

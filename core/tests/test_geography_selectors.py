"""The geography selectors on real places (data: core/data/geo, Natural Earth + GeoNames)."""

from datetime import timedelta

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.utils import timezone

from core import selectors
from core.models import BorderSegment, ForwardBase, Province, RestrictedZone, Settlement

pytestmark = pytest.mark.usefixtures("geography")

TBILISI = Point(44.7930, 41.7151, srid=4326)


def place(name):
    return Settlement.objects.get(name=name).location


def test_the_reference_geography_is_loaded_with_the_five_sectors_and_six_bases():
    sectors = set(Province.objects.filter(is_sector=True).values_list("name", flat=True))
    assert sectors == {"Tavush", "Gegharkunik", "Vayots Dzor", "Syunik", "Ararat"}
    assert Province.objects.count() == 11
    assert set(ForwardBase.objects.values_list("name", flat=True)) == {
        "Kapan", "Goris", "Jermuk", "Yeghegnadzor", "Martuni", "Ijevan",
    }  # fmt: skip
    international = BorderSegment.objects.filter(is_international=True)
    assert round(sum(s.length_km for s in international)) == 701


def test_jermuk_is_in_vayots_dzor():
    assert selectors.sector_at(place("Jermuk")).name == "Vayots Dzor"


def test_kornidzor_resolves_to_syunik_although_it_lies_outside_the_generalised_polygon():
    kornidzor = place("Kornidzor")
    assert not Province.objects.filter(geom__intersects=kornidzor).exists()
    assert selectors.sector_at(kornidzor).name == "Syunik"
    assert selectors.in_mission_area(kornidzor)


def test_a_point_in_georgia_is_outside_the_mission_area():
    assert selectors.province_at(TBILISI) is None
    assert selectors.sector_at(TBILISI) is None
    assert not selectors.in_mission_area(TBILISI)


def test_yerevan_is_in_armenia_but_not_in_a_mission_sector():
    yerevan = place("Yerevan")
    assert selectors.province_at(yerevan).name == "Yerevan"
    assert not selectors.in_mission_area(yerevan)


def test_a_point_5_km_beyond_the_border_is_not_pulled_into_a_sector():
    # 6 km east of Kornidzor, inside Azerbaijan: beyond the 2 km tolerance.
    far = Point(46.60, 39.55, srid=4326)
    assert selectors.distance_to_border_km(far) > 4
    assert not selectors.in_mission_area(far)


def test_distance_to_the_border_is_geodesic_kilometres():
    assert selectors.distance_to_border_km(place("Kornidzor")) == pytest.approx(0.5, abs=0.3)
    assert selectors.distance_to_border_km(place("Davit Bek")) < 1
    assert selectors.distance_to_border_km(place("Jermuk")) == pytest.approx(12.5, abs=1.5)
    assert selectors.distance_to_border_km(place("Yerevan")) > 40


def test_a_point_about_6_km_south_east_of_jermuk_is_described_from_jermuk():
    jermuk = place("Jermuk")
    # 6 km at a bearing of 135°: 0.0382° of latitude south, 0.0498° of longitude east here.
    point = Point(jermuk.x + 0.0498, jermuk.y - 0.0382, srid=4326)
    relative = selectors.nearest_settlement(point)
    assert relative.settlement.name == "Jermuk"
    assert relative.distance_km == pytest.approx(6, abs=0.3)
    assert relative.direction == "SE"
    assert selectors.describe_location(point) == "about 6 km SE of Jermuk, Vayots Dzor"


def test_a_point_in_a_settlement_is_described_as_in_it():
    assert selectors.describe_location(place("Goris")) == "in Goris, Syunik"


@pytest.mark.parametrize(
    ("dx", "dy", "expected"),
    [(0, 1, "N"), (1, 1, "NE"), (1, 0, "E"), (0, -1, "S"), (-1, -1, "SW"), (-1, 0, "W")],
)
def test_bearing_gives_the_compass_point_from_the_settlement(dx, dy, expected):
    origin = Point(45.0, 40.0, srid=4326)
    # Scale longitude by cos(latitude) so that "NE" really is 45°.
    target = Point(45.0 + dx * 0.01 / 0.766, 40.0 + dy * 0.01, srid=4326)
    assert selectors.compass_point(selectors.bearing_degrees(origin, target)) == expected


def test_restricted_zones_apply_only_within_their_validity(users):
    now = timezone.now()
    jermuk = place("Jermuk")
    zone = RestrictedZone.objects.create(
        name="Minefield north of Jermuk",
        reason=RestrictedZone.Reason.MINES,
        geom=MultiPolygon(Polygon.from_bbox((45.65, 39.87, 45.70, 39.90)), srid=4326),
        valid_from=now - timedelta(days=1),
        valid_until=now + timedelta(days=1),
        created_by=users["coordinator"],
    )
    inside = Point(45.67, 39.885, srid=4326)
    assert list(selectors.restricted_zones_hit(inside)) == [zone]
    assert not selectors.restricted_zones_hit(jermuk).exists()
    assert not selectors.restricted_zones_hit(inside, at=now + timedelta(days=2)).exists()
    assert not selectors.restricted_zones_hit(inside, at=now - timedelta(days=2)).exists()


@pytest.mark.django_db
def test_the_geography_held_in_memory_follows_an_edit_made_in_this_process(geography):
    from core.selectors import describe_location, geography_in_memory

    near_tegh = Point(46.478, 39.556, srid=4326)
    before = describe_location(near_tegh)
    assert "Tegh" in before
    tegh = Settlement.objects.get(name="Tegh")
    Settlement.objects.create(name="Test hamlet", province=tegh.province, location=near_tegh)
    assert describe_location(near_tegh).startswith("in Test hamlet")  # no stale copy
    Settlement.objects.filter(name="Test hamlet").delete()
    assert describe_location(near_tegh) == before
    assert geography_in_memory.get()[2]  # still loaded, from the database


@pytest.mark.django_db
def test_distances_are_on_the_spheroid_on_both_databases():
    import math

    from core.selectors import _haversine_km, geodesic_km

    # Yerevan – Kapan: 195.21 km on the WGS84 spheroid (Karney), a few hundred metres off the
    # sphere's figure, which only ranks the candidates.
    yerevan, kapan = Point(44.5152, 40.1872, srid=4326), Point(46.4053, 39.2076, srid=4326)
    assert abs(geodesic_km(yerevan, kapan) - 195.21) < 0.01
    sphere = _haversine_km(*map(math.radians, (yerevan.x, yerevan.y, kapan.x, kapan.y)))
    assert 0.05 < abs(sphere - geodesic_km(yerevan, kapan)) < 1


@pytest.mark.django_db
def test_sqlite_waits_as_long_as_configured_for_a_lock_even_with_spatialite_loaded():
    from django.db import connection

    if connection.vendor != "sqlite":
        assert connection.vendor == "postgresql"  # PostgreSQL waits for locks without a timeout
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] == 30_000

"""Where things are: the selectors every app uses to place a point in the mission's world.

Distances between two points are geodesic (Karney, as PostGIS). Distances from a point to
the border or to a province's edge are measured here, in a flat projection centred on the
point (`_segment_km`), the computation the tablet uses offline: the two ends judge a point
alike, on either database (SpatiaLite's `Distance` to a line was up to 15 % off). Queries
that filter by distance use `distance_lte` with `D(km=...)`, which means the same on both,
whereas a bare number in `dwithin` would be metres on one and degrees on the other.
"""

import math
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from geographiclib.geodesic import Geodesic

from core.geometry import GeometryRefused, is_finite_lon_lat
from core.models import BorderSegment, ForwardBase, Province, RestrictedZone, Settlement

COMPASS = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"]


def as_wgs84(geom):
    """The geometry in SRID 4326: one without an SRID is taken to be WGS84 already."""
    if geom is None:
        return None
    if geom.srid is None:
        geom = geom.clone()
        geom.srid = 4326
        return geom
    return geom if geom.srid == 4326 else geom.transform(4326, clone=True)


class _GeographyInMemory:
    """The provinces (with prepared outlines) and settlements, held in this process's memory.

    Every report asks which province holds its point and which settlement is nearest: two or
    three spatial queries per report, about a quarter of the web process's CPU for a new
    report (and a share of the database's). The geography changes only through
    `load_geography` or the admin, so it is read once and kept: a save or delete of a
    province or settlement in this process empties the copy at once and again at commit (a
    rolled-back edit is not kept either); other processes read it again within
    GEOGRAPHY_CACHE_SECONDS.
    """

    def __init__(self):
        # (when, [(province, prepared outline, extent)], [settlement], {base pk: code},
        #  {"provinces": [(province, rings)], "lines": [(is international, lines)]})
        self._loaded = None
        self._lock = threading.Lock()

    def clear(self, **kwargs):
        self._loaded = None
        if transaction.get_connection().in_atomic_block:
            transaction.on_commit(self.clear_now)

    def clear_now(self):
        self._loaded = None

    def get(self):
        loaded = self._loaded
        if loaded is None or time.monotonic() - loaded[0] > settings.GEOGRAPHY_CACHE_SECONDS:
            with self._lock:
                provinces = [
                    (p, p.geom.prepared, p.geom.extent) for p in Province.objects.order_by("name")
                ]
                by_pk = {p.pk: p for p, _, _ in provinces}
                settlements = list(Settlement.objects.order_by("name"))
                for settlement in settlements:
                    # The province objects above: their names are used, never re-read.
                    if settlement.province_id in by_pk:
                        settlement.province = by_pk[settlement.province_id]
                    # Its coordinates, read once: each .x/.y is a call into GEOS.
                    settlement.lon_lat = settlement.location.coords[:2]
                    settlement.lon_lat_radians = tuple(map(math.radians, settlement.lon_lat))
                # The forward bases' codes, which begin every report's reference.
                base_codes = dict(ForwardBase.objects.values_list("pk", "code"))
                # The provinces' rings and the border's lines as coordinates, for distances
                # measured here (edge_distance_km), as the tablet measures them.
                edges = {
                    "provinces": [
                        (p, [ring for polygon in p.geom.coords for ring in polygon])
                        for p, _, _ in provinces
                    ],
                    "lines": [
                        (b.is_international, list(b.geom.coords))
                        for b in BorderSegment.objects.only("is_international", "geom")
                    ],
                }
                loaded = self._loaded = (
                    time.monotonic(), provinces, settlements, base_codes, edges,
                )  # fmt: skip
        return loaded


geography_in_memory = _GeographyInMemory()
for _model in (Province, Settlement, ForwardBase, BorderSegment):
    post_save.connect(geography_in_memory.clear, sender=_model, dispatch_uid=f"geo-{_model}")
    post_delete.connect(geography_in_memory.clear, sender=_model, dispatch_uid=f"geo-d-{_model}")


def _in_wgs84(point: Point) -> Point:
    return point if point.srid in (None, 4326) else point.transform(4326, clone=True)


def forward_base_code(base_pk: int | None) -> str | None:
    """The code of a forward base (KAP), from memory: no query per report filed."""
    return geography_in_memory.get()[3].get(base_pk) if base_pk is not None else None


def province_at(point: Point) -> Province | None:
    """The province containing `point`, else the nearest one within the tolerance.

    The reference border is generalised (errors of hundreds of metres up to 1–2 km), so a
    village on the line, like Kornidzor, may fall just outside every polygon.
    """
    point = _in_wgs84(point)
    if not is_finite_lon_lat(point):
        # Every entrance checks geometry (core.geometry); this is the last guard before the
        # database, where such a number once aborted the process: a bug, not a 500 crash.
        raise GeometryRefused(f"Not a WGS84 position: {point.coords[:2]!r:.80}")
    # In memory first (prepared outlines: microseconds, no query), in the database's order;
    # an outline whose bounding box does not hold the point is not asked (a call into GEOS
    # each: 8 of the 11 were asked in vain for a report's point, on average).
    x, y = point.coords[:2]
    for province, outline, (xmin, ymin, xmax, ymax) in geography_in_memory.get()[1]:
        if xmin <= x <= xmax and ymin <= y <= ymax and outline.intersects(point):
            return province
    # Outside every outline: the nearest within the tolerance, measured as the tablet does
    # (edge_distance_km), with no query.
    best, best_km = None, math.inf
    for province, rings in geography_in_memory.get()[4]["provinces"]:
        km = _paths_km(x, y, rings)
        if km < best_km:
            best, best_km = province, km
    return best if best_km <= settings.PROVINCE_TOLERANCE_KM else None


def _segment_km(x, y, a, b) -> float:
    """Kilometres from (x, y) to the segment a-b, in a flat projection centred on the point:
    within well under 1 % of the geodesic distance over the tens of kilometres asked here,
    and the very computation of static/tablet/placement.js (segmentKm), so the server and
    the tablet judge a point alike. (SpatiaLite's Distance to a line finds the nearest point
    in flat degrees and measures to it: up to 15 % too far near the border.)"""
    k = math.cos(math.radians(y)) * math.radians(1) * EARTH_MEAN_RADIUS_KM
    m = math.radians(1) * EARTH_MEAN_RADIUS_KM
    ax, ay = (a[0] - x) * k, (a[1] - y) * m
    bx, by = (b[0] - x) * k, (b[1] - y) * m
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = max(0.0, min(1.0, -(ax * dx + ay * dy) / length2)) if length2 else 0.0
    px, py = ax + t * dx, ay + t * dy
    return math.sqrt(px * px + py * py)


def _paths_km(x, y, paths) -> float:
    best = math.inf
    for path in paths:
        for i in range(1, len(path)):
            best = min(best, _segment_km(x, y, path[i - 1], path[i]))
    return best


def sector_at(point: Point) -> Province | None:
    """The mission sector (a border province) of `point`, or None outside the mission area."""
    province = province_at(point)
    return province if province is not None and province.is_sector else None


def in_mission_area(point: Point) -> bool:
    return sector_at(point) is not None


def _lines(international_only: bool):
    lines = [
        line
        for international, paths in geography_in_memory.get()[4]["lines"]
        if international or not international_only
        for line in paths
    ]
    if not lines:
        raise LookupError("No border is loaded: run `manage.py load_geography`.")
    return lines


def distance_to_border_km(point: Point, *, international_only: bool = True) -> float:
    """Distance to the nearest stretch of the Armenia–Azerbaijan line proper, or of the whole
    boundary, the exclave and enclave edges included (`international_only=False`), measured
    by _segment_km."""
    x, y = _in_wgs84(point).coords[:2]
    return _paths_km(x, y, _lines(international_only=international_only))


def distance_to_armenia_km(point: Point) -> float:
    """Distance to the nearest province's edge, for a point outside them all (_segment_km)."""
    x, y = _in_wgs84(point).coords[:2]
    provinces = geography_in_memory.get()[4]["provinces"]
    if not provinces:
        raise LookupError("No provinces are loaded: run `manage.py load_geography`.")
    return min(_paths_km(x, y, rings) for _, rings in provinces)


def bearing_degrees(origin: Point, target: Point) -> float:
    """Initial great-circle bearing from origin to target, 0° = north, clockwise."""
    return _bearing_degrees(origin.x, origin.y, target.x, target.y)


def _bearing_degrees(lon1, lat1, lon2, lat2) -> float:
    lon1, lat1, lon2, lat2 = map(math.radians, (lon1, lat1, lon2, lat2))
    dlon = lon2 - lon1
    x = math.sin(dlon) * math.cos(lat2)
    y = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(dlon)
    return (math.degrees(math.atan2(x, y)) + 360) % 360


def compass_point(degrees: float) -> str:
    return COMPASS[round(degrees / 45) % 8]


@dataclass(frozen=True)
class RelativeLocation:
    settlement: Settlement
    distance_km: float
    bearing: float  # from the settlement to the point

    @property
    def direction(self) -> str:
        return compass_point(self.bearing)

    def _relative(self) -> str:
        where = self.settlement.name
        if self.distance_km < 1:
            return f"in {where}"
        return f"about {round(self.distance_km)} km {self.direction} of {where}"

    def phrase_across(self) -> str:
        """Of a point across the line: "about 2 km N of Zangilan (Azerbaijan)", "about 5 km
        E of Kornidzor (Syunik)": the settlement's side named, not read as the point's."""
        side = (
            self.settlement.province.name if self.settlement.province else self.settlement.country
        )
        return f"{self._relative()} ({side})" if side else self._relative()

    def phrase(self, province: Province | None = None) -> str:
        """OSCE-style: "about 6 km SE of Jermuk, Vayots Dzor" ("in Jermuk" when within 1 km)."""
        text = self._relative()
        province = province or self.settlement.province
        if province is not None:
            return f"{text}, {province.name}"
        # A town across the line: its country says which side it is on.
        return f"{text}, {self.settlement.country}" if self.settlement.country else text


EARTH_MEAN_RADIUS_KM = 6371.0088


def _haversine_km(lon1, lat1, lon2, lat2) -> float:
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_MEAN_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def geodesic_km(a: Point, b: Point) -> float:
    """Distance on the WGS84 spheroid (Karney's algorithm, as PostGIS measures it)."""
    return _geodesic_km((a.x, a.y), (b.x, b.y))


def _geodesic_km(a, b) -> float:
    """geodesic_km between two (longitude, latitude) pairs."""
    return Geodesic.WGS84.Inverse(a[1], a[0], b[1], b[0], Geodesic.DISTANCE)["s12"] / 1000


HOME_COUNTRY = "Armenia"


def nearest_settlement(point: Point, *, home_only: bool = False) -> RelativeLocation | None:
    """The settlement nearest `point`, on either side of the line, or only in Armenia
    (`home_only`): a place inside Armenia is described by an Armenian settlement, even where
    a town across the line is nearer ("4 km W of Zangilan, Syunik" would say neither)."""
    point = _in_wgs84(point)
    settlements = geography_in_memory.get()[2]
    if home_only:
        settlements = [s for s in settlements if s.country == HOME_COUNTRY]
    if not settlements:
        return None
    # The sphere ranks them (fast); the spheroid, which differs from it by well under 1 %,
    # decides between those that could still be nearest and gives the distance. One pass
    # with the point's coordinates read once (each .x/.y is a call into GEOS; sorting all
    # 27 settlements and reading them again cost a tenth of filing a report).
    x, y = point.coords[:2]
    lon, lat = math.radians(x), math.radians(y)
    rough = [(_haversine_km(*s.lon_lat_radians, lon, lat), s) for s in settlements]
    bound = min(km for km, _ in rough) * 1.01 + 0.01
    distance_km, _, settlement = min(
        (_geodesic_km(s.lon_lat, (x, y)), s.name, s) for km, s in rough if km <= bound
    )
    return RelativeLocation(
        settlement=settlement,
        distance_km=distance_km,
        bearing=_bearing_degrees(*settlement.lon_lat, x, y),
    )


_UNKNOWN = object()


def describe_location(point: Point, *, province=_UNKNOWN) -> str:
    """The phrase reports and the digest use: "about 6 km SE of Jermuk, Vayots Dzor".

    `province`: province_at(point) when the caller has it already (None for none), which
    saves looking it up again. A point in a province is described by an Armenian settlement;
    one outside every province by the nearest settlement on either side of the line.
    """
    if province is _UNKNOWN:
        province = province_at(point)
    relative = nearest_settlement(point, home_only=province is not None)
    if relative is None:
        return f"{point.y:.4f}N {point.x:.4f}E"
    return relative.phrase(province)


def restricted_zones_active(at=None):
    at = at or timezone.now()
    return RestrictedZone.objects.filter(valid_from__lte=at).exclude(valid_until__lte=at)


def restricted_zones_hit(geom, at=None):
    """Active restricted zones that `geom` (a point or a route) enters."""
    return restricted_zones_active(at).filter(geom__intersects=geom)


def map_base_layers() -> tuple[list[Province], list[BorderSegment], list[Settlement]]:
    """What every server-drawn map (core.maps) shows under its features: the provinces, the
    border and the settlements, with only the fields drawn. Three queries, whatever the map."""
    return (
        list(Province.objects.only("name", "is_sector", "geom")),
        list(BorderSegment.objects.only("is_international", "geom")),
        list(Settlement.objects.only("name", "country", "location")),
    )

"""Where things are: the selectors every app uses to place a point in the mission's world.

Distances are geodesic (metres on the WGS84 spheroid) on both SpatiaLite and PostGIS:
`distance_lte` with `D(km=...)` and the `Distance` function mean the same on both, whereas a
bare number in `dwithin` would be metres on one and degrees on the other.
"""

import math
from dataclasses import dataclass

from django.conf import settings
from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.contrib.gis.measure import D
from django.utils import timezone

from core.models import BorderSegment, Province, RestrictedZone, Settlement

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


def province_at(point: Point) -> Province | None:
    """The province containing `point`, else the nearest one within the tolerance.

    The reference border is generalised (errors of hundreds of metres up to 1–2 km), so a
    village on the line, like Kornidzor, may fall just outside every polygon.
    """
    # The outline is not read back (a few kilobytes to send and parse per lookup); it loads
    # on access, like any deferred field.
    provinces = Province.objects.defer("geom")
    province = provinces.filter(geom__intersects=point).first()
    if province is not None:
        return province
    tolerance = D(km=settings.PROVINCE_TOLERANCE_KM)
    return (
        provinces.filter(geom__distance_lte=(point, tolerance))
        .annotate(distance=Distance("geom", point))
        .order_by("distance")
        .first()
    )


def sector_at(point: Point) -> Province | None:
    """The mission sector (a border province) of `point`, or None outside the mission area."""
    province = province_at(point)
    return province if province is not None and province.is_sector else None


def in_mission_area(point: Point) -> bool:
    return sector_at(point) is not None


def distance_to_border_km(point: Point) -> float:
    """Geodesic distance to the nearest stretch of the Armenia–Azerbaijan line proper."""
    nearest = (
        BorderSegment.objects.filter(is_international=True)
        .annotate(distance=Distance("geom", point))
        .order_by("distance")
        .values_list("distance", flat=True)
        .first()
    )
    if nearest is None:
        raise LookupError("No border is loaded: run `manage.py load_geography`.")
    return nearest.km


def bearing_degrees(origin: Point, target: Point) -> float:
    """Initial great-circle bearing from origin to target, 0° = north, clockwise."""
    lon1, lat1, lon2, lat2 = map(math.radians, (origin.x, origin.y, target.x, target.y))
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

    def phrase(self, province: Province | None = None) -> str:
        """OSCE-style: "about 6 km SE of Jermuk, Vayots Dzor" ("in Jermuk" when within 1 km)."""
        where = self.settlement.name
        if self.distance_km < 1:
            text = f"in {where}"
        else:
            text = f"about {round(self.distance_km)} km {self.direction} of {where}"
        province = province or self.settlement.province
        return f"{text}, {province.name}" if province is not None else text


def nearest_settlement(point: Point) -> RelativeLocation | None:
    settlement = (
        Settlement.objects.select_related("province")
        .defer("province__geom")  # only its name is used (and it loads on access)
        .annotate(distance=Distance("location", point))
        .order_by("distance")
        .first()
    )
    if settlement is None:
        return None
    return RelativeLocation(
        settlement=settlement,
        distance_km=settlement.distance.km,
        bearing=bearing_degrees(settlement.location, point),
    )


_UNKNOWN = object()


def describe_location(point: Point, *, province=_UNKNOWN) -> str:
    """The phrase reports and the digest use: "about 6 km SE of Jermuk, Vayots Dzor".

    `province`: province_at(point) when the caller has it already (None for none), which
    saves looking it up again.
    """
    relative = nearest_settlement(point)
    if relative is None:
        return f"{point.y:.4f}N {point.x:.4f}E"
    return relative.phrase(province_at(point) if province is _UNKNOWN else province)


def restricted_zones_active(at=None):
    at = at or timezone.now()
    return RestrictedZone.objects.filter(valid_from__lte=at).exclude(valid_until__lte=at)


def restricted_zones_hit(geom, at=None):
    """Active restricted zones that `geom` (a point or a route) enters."""
    return restricted_zones_active(at).filter(geom__intersects=geom)

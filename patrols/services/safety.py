"""Safety checks on an itinerary, run on submission and again on approval.

Distances are computed in UTM zone 38N (EPSG:32638), which covers Armenia with a scale error
below 0.1 %: metres there are metres on the ground, for the buffers and lengths below.
"""

import json
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Point
from django.utils import timezone

from core import selectors as geo
from core.models import BorderSegment, Province, RestrictedZone
from patrols import selectors

UTM = 32638
SAMPLE_METRES = 250

BLOCKING = "blocking"
WARNING = "warning"
OVERRIDE = "override"  # blocking unless a coordinator records an urgent override


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    message: str
    geometry: dict | None = field(default=None, compare=False)

    def as_dict(self):
        return asdict(self)


def _utm(geom):
    return geom.transform(UTM, clone=True)


def _where(point_utm) -> str:
    point = point_utm.transform(4326, clone=True)
    return geo.describe_location(Point(point.x, point.y, srid=4326))


def _geojson(geom_utm):
    import json

    return json.loads(geom_utm.transform(4326, clone=True).geojson)


def check_restricted_zones(plan):
    """Zones in force at any moment between departure and return that the route enters."""
    zones = (
        RestrictedZone.objects.filter(valid_from__lt=plan.planned_return)
        .exclude(valid_until__lte=plan.planned_departure)
        .filter(geom__intersects=plan.route)
    )
    return [
        Finding(
            "restricted_zone",
            BLOCKING,
            f"The route crosses the restricted zone «{zone.name}» "
            f"({zone.get_reason_display().lower()}).",
            _geojson(_utm(zone.geom.intersection(plan.route))),
        )
        for zone in zones
    ]


def check_mission_area(plan):
    """Every part of the route, and every waypoint, must lie in a sector (with the
    generalised-border tolerance)."""
    sectors = [p.geom for p in Province.objects.filter(is_sector=True)]
    area = _utm(MultiPolygon(*[poly for mp in sectors for poly in mp], srid=4326)).buffer(
        settings.PROVINCE_TOLERANCE_KM * 1000
    )
    route = _utm(plan.route)
    outside = route.difference(area)
    if outside.empty or outside.length < SAMPLE_METRES:
        return _places_outside(plan)
    first = outside if outside.geom_type == "LineString" else outside[0]
    return [
        Finding(
            "outside_mission_area",
            BLOCKING,
            f"{outside.length / 1000:.1f} km of the route leave the mission area "
            f"(first {_where(Point(first.coords[0], srid=UTM))}).",
            _geojson(outside),
        )
    ]


def _places_outside(plan):
    """The first vertex or waypoint outside the mission area, read in degrees: far from the
    mission (a route along the pole) the UTM projection folds the line onto nothing and the
    measure above finds it "inside"; waypoints are not on the route's line at all."""
    places = [("route", Point(*xy, srid=4326)) for xy in plan.route.coords]
    places += [(f"waypoint «{w.name}»", w.location) for w in plan.waypoints.all()]
    for what, point in places:
        if not geo.in_mission_area(point):
            return [
                Finding(
                    "outside_mission_area",
                    BLOCKING,
                    f"The {what} leaves the mission area (at {point.y:.4f}N {point.x:.4f}E, "
                    "outside the five border provinces).",
                    json.loads(point.geojson),
                )
            ]
    return []


def check_border_distance(plan):
    limit_m = settings.PATROL_BORDER_WARNING_KM * 1000
    border = [s.geom for s in BorderSegment.objects.filter(is_international=True)]
    if not border:
        return []
    route = _utm(plan.route)
    near = GEOSGeometry("GEOMETRYCOLLECTION EMPTY", srid=UTM)
    for line in border:
        line_utm = _utm(line)
        if line_utm.distance(route) <= limit_m:
            near = near.union(route.intersection(line_utm.buffer(limit_m)))
    if near.empty or near.length == 0:
        return []
    start = near if near.geom_type == "LineString" else near[0]
    return [
        Finding(
            "near_border",
            WARNING,
            f"{near.length / 1000:.1f} km of the route run within "
            f"{settings.PATROL_BORDER_WARNING_KM:g} km of the border "
            f"(from {_where(Point(start.coords[0], srid=UTM))}).",
            _geojson(near),
        )
    ]


def check_overlaps(plan):
    limit_m = settings.PATROL_OVERLAP_KM * 1000
    route = _utm(plan.route)
    findings = []
    for other in selectors.patrol_plans_overlapping(plan=plan):
        if _utm(other.route).distance(route) <= limit_m:
            local = timezone.localtime(other.planned_departure)
            findings.append(
                Finding(
                    "overlap",
                    WARNING,
                    f"Another patrol ({other.forward_base}, {local:%d %b %H:%M} "
                    f"{settings.TIME_ZONE}, {other.get_status_display().lower()}) uses the same "
                    "area at the same time.",
                    _geojson(_utm(other.route)),
                )
            )
    return findings


def check_notice(plan, now=None):
    now = now or timezone.now()
    notice = timezone.timedelta(days=settings.PATROL_NOTICE_DAYS)
    if plan.planned_departure - now >= notice:
        return []
    return [
        Finding(
            "short_notice",
            OVERRIDE,
            f"Departure is less than {settings.PATROL_NOTICE_DAYS:g} days away: the parties "
            "must be told a week ahead, unless a coordinator records an urgent override with "
            "a justification.",
        )
    ]


def itinerary_check(plan, now=None) -> list[Finding]:
    """All findings for the plan's itinerary, blocking ones first."""
    if plan.route is None:
        return [Finding("no_route", BLOCKING, "The plan has no route: draw it or add waypoints.")]
    findings = [
        *check_restricted_zones(plan),
        *check_mission_area(plan),
        *check_notice(plan, now),
        *check_border_distance(plan),
        *check_overlaps(plan),
    ]
    order = {BLOCKING: 0, OVERRIDE: 1, WARNING: 2}
    return sorted(findings, key=lambda f: order[f.severity])

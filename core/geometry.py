"""Geometry enters the system here, and only here.

Every geometry a person or a program hands us (API bodies, page forms, the admin's map
widget, management commands, services called with geometry) goes through
`geometry_checked` before any spatial library or the database sees it. One coordinate of
1e300 once aborted the web process inside SpatiaLite ("stack smashing detected"), and an
out-of-range route was stored and then broke its plan's pages in a UTM transform: so the
numbers are read in Python, bounded, and only then handed to GEOS.

Refused, with a message naming the reason: a type other than the ones the field takes,
non-finite or out-of-range coordinates (longitude −180..180, latitude −90..90), a height or
a measure (3-D / M), empty geometries, a coordinate system other than WGS84, more points
than GEOMETRY_MAX_POINTS, text longer than GEOMETRY_MAX_TEXT_BYTES, and geometries GEOS
calls invalid (a line of one repeated point, a self-intersecting ring).
"""

import json

from django.conf import settings
from django.contrib.gis.geos import (
    GEOSException,
    GEOSGeometry,
    LinearRing,
    LineString,
    MultiLineString,
    MultiPoint,
    MultiPolygon,
    Point,
    Polygon,
)
from django.core.exceptions import ValidationError

# GeoJSON's names for WGS84 longitude/latitude: a "crs" member naming anything else is refused
# rather than ignored (the numbers would be read as degrees when they are not).
WGS84_NAMES = {
    "urn:ogc:def:crs:OGC:1.3:CRS84",
    "urn:ogc:def:crs:OGC::CRS84",
    "urn:ogc:def:crs:EPSG::4326",
    "urn:ogc:def:crs:EPSG:4326",
    "EPSG:4326",
    "CRS84",
}

# How deep each GeoJSON type nests its positions, and how to build it from checked numbers.
_DEPTH = {
    "Point": 0,
    "MultiPoint": 1,
    "LineString": 1,
    "Polygon": 2,
    "MultiLineString": 2,
    "MultiPolygon": 3,
}


def _polygon(rings):
    return Polygon(*[LinearRing(ring) for ring in rings])


_BUILD = {
    "Point": lambda c: Point(*c),
    "MultiPoint": lambda c: MultiPoint(*[Point(*p) for p in c]),
    "LineString": lambda c: LineString(c),
    "Polygon": _polygon,
    "MultiLineString": lambda c: MultiLineString(*[LineString(line) for line in c]),
    "MultiPolygon": lambda c: MultiPolygon(*[_polygon(rings) for rings in c]),
}


class GeometryRefused(ValueError):
    """Why a geometry cannot be taken, in words for the person who sent it."""


def geometry_checked(value, *, kinds, field: str | None = None, max_points: int | None = None):
    """`value` (a GeoJSON object or text, WKT/EWKT, or a GEOS geometry) as a checked GEOS
    geometry in SRID 4326 of one of `kinds` (GeoJSON type names).

    Raises django's ValidationError, keyed by `field` when given, saying what is wrong.
    """
    try:
        return geometry_or_refusal(value, kinds=kinds, max_points=max_points)
    except GeometryRefused as refusal:
        raise ValidationError({field: [str(refusal)]} if field else str(refusal)) from None


def geometry_or_refusal(value, *, kinds, max_points: int | None = None):
    """As geometry_checked, raising GeometryRefused (for callers with their own error type)."""
    kinds = tuple(kinds)
    limit = max_points or settings.GEOMETRY_MAX_POINTS
    if isinstance(value, GEOSGeometry):
        return _checked_geos(value, kinds, limit)
    if isinstance(value, bytes | bytearray | memoryview):
        raise GeometryRefused("Give the geometry as GeoJSON.")
    if isinstance(value, str):
        if len(value.encode()) > settings.GEOMETRY_MAX_TEXT_BYTES:
            raise GeometryRefused(
                f"The geometry is too long (over {settings.GEOMETRY_MAX_TEXT_BYTES} bytes)."
            )
        text = value.strip()
        if not text:
            raise GeometryRefused("Give a geometry.")
        if text.startswith("{"):
            try:
                value = json.loads(text, parse_constant=_refuse_constant)
            except (ValueError, RecursionError):
                raise GeometryRefused("The geometry is not valid GeoJSON.") from None
        else:
            try:
                parsed = GEOSGeometry(text)
            except (GEOSException, ValueError, TypeError):
                raise GeometryRefused(
                    "The geometry is neither GeoJSON nor WKT that can be read."
                ) from None
            return _checked_geos(parsed, kinds, limit)
    if isinstance(value, dict):
        return _from_geojson(value, kinds, limit)
    raise GeometryRefused(f"Give a GeoJSON {_names(kinds)}.")


def _refuse_constant(name):
    raise ValueError(name)  # NaN, Infinity and -Infinity are not JSON numbers


def _names(kinds) -> str:
    return " or ".join(kinds)


def _from_geojson(obj: dict, kinds, limit):
    kind = obj.get("type")
    if kind not in kinds:
        raise GeometryRefused(f"Give a GeoJSON {_names(kinds)}, not {_shown(kind)}.")
    if "crs" in obj:
        crs = obj["crs"]
        properties = crs.get("properties") if isinstance(crs, dict) else None
        name = properties.get("name") if isinstance(properties, dict) else None
        if not isinstance(name, str) or name not in WGS84_NAMES:
            named = f"the coordinate system {_shown(name)}" if isinstance(name, str) else (
                "a coordinate system not named as GeoJSON names one"
            )  # fmt: skip
            raise GeometryRefused(
                f"Give the coordinates in WGS84 longitude/latitude (EPSG:4326); {named} is "
                "not taken."
            )
    coordinates = obj.get("coordinates")
    if coordinates is None:
        raise GeometryRefused(f"The {kind} has no coordinates.")
    counter = [0]
    checked = _positions(coordinates, _DEPTH[kind], counter, limit)
    if _DEPTH[kind] and not checked:
        raise GeometryRefused(f"The {kind} is empty.")
    try:
        geometry = _BUILD[kind](checked)
    except (GEOSException, ValueError, TypeError, IndexError) as error:
        raise GeometryRefused(f"The {kind} cannot be built: {_short(error)}.") from None
    geometry.srid = 4326
    return _valid(geometry, kind)


def _positions(value, depth, counter, limit):
    """Checked positions nested `depth` lists deep, counted against `limit`."""
    if not isinstance(value, list | tuple):
        raise GeometryRefused("The coordinates must be nested lists of numbers.")
    if depth == 0:
        counter[0] += 1
        if counter[0] > limit:
            raise GeometryRefused(f"The geometry has more than {limit} points.")
        return lon_lat(value)
    return [_positions(item, depth - 1, counter, limit) for item in value]


def lon_lat(position) -> tuple[float, float]:
    """(longitude, latitude) from one position, or GeometryRefused saying why not."""
    if not isinstance(position, list | tuple) or len(position) < 2:
        raise GeometryRefused("Give each position as [longitude, latitude].")
    if len(position) > 2:
        raise GeometryRefused("Give longitude and latitude only: the height is not recorded.")
    lon, lat = position
    for name, number, bound in (("longitude", lon, 180), ("latitude", lat, 90)):
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise GeometryRefused(f"The {name} must be a number.")
        # NaN and the infinities fail the comparison too; a huge int fails before float().
        if not -bound <= number <= bound:
            raise GeometryRefused(f"The {name} must lie between -{bound} and {bound} degrees.")
    return float(lon), float(lat)


def _checked_geos(geometry: GEOSGeometry, kinds, limit):
    kind = geometry.geom_type
    if kind not in kinds:
        raise GeometryRefused(f"Give a GeoJSON {_names(kinds)}, not {kind}.")
    if geometry.srid not in (None, 4326):
        raise GeometryRefused(
            "Give the coordinates in WGS84 longitude/latitude (EPSG:4326), "
            f"not EPSG:{geometry.srid}."
        )
    if geometry.hasz or getattr(geometry, "hasm", False):
        raise GeometryRefused("Give longitude and latitude only: the height is not recorded.")
    if geometry.empty:
        raise GeometryRefused(f"The {kind} is empty.")
    if geometry.num_points > limit:
        raise GeometryRefused(f"The geometry has more than {limit} points.")
    for position in _flat(geometry.coords):
        lon_lat(position)
    checked = geometry.clone()
    checked.srid = 4326
    return _valid(checked, kind)


def _flat(coords):
    """Every (x, y) position in GEOS's nested coordinate tuples."""
    if coords and isinstance(coords[0], int | float):
        yield coords
        return
    for item in coords:
        yield from _flat(item)


def _valid(geometry, kind):
    # Safe to ask GEOS now: every number is finite and bounded.
    if not geometry.valid:
        raise GeometryRefused(f"The {kind} is not valid: {geometry.valid_reason}.")
    return geometry


def _shown(value) -> str:
    text = repr(value) if not isinstance(value, str) else f"«{value[:40]}»"
    return text[:60]


def _short(error) -> str:
    return str(error).splitlines()[0][:120] if str(error) else type(error).__name__


def is_finite_lon_lat(point) -> bool:
    """Whether a GEOS point's numbers may be handed to the database (a last guard for the
    spatial selectors, behind the checks at every entrance): lon_lat's own rule."""
    try:
        lon_lat(point.coords[:2])
    except GeometryRefused:
        return False
    return True

from django.contrib.gis.geos import GEOSGeometry, Point
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework_gis.fields import GeometryField


@extend_schema_field(
    {
        "type": "object",
        "description": "GeoJSON LineString in WGS84 (longitude, latitude).",
        "properties": {
            "type": {"type": "string", "enum": ["LineString"]},
            "coordinates": {
                "type": "array",
                "items": {"type": "array", "items": {"type": "number"}, "minItems": 2},
                "minItems": 2,
            },
        },
        "required": ["type", "coordinates"],
    }
)
class LineStringField(GeometryField):
    """A GeoJSON LineString (routes)."""


@extend_schema_field(
    {
        "type": "object",
        "description": "GeoJSON Point in WGS84 (longitude, latitude).",
        "properties": {
            "type": {"type": "string", "enum": ["Point"]},
            "coordinates": {"type": "array", "items": {"type": "number"}, "minItems": 2},
        },
        "required": ["type", "coordinates"],
    }
)
class PointField(GeometryField):
    """A GeoJSON Point in WGS84 (places of incidents, observers, restrictions).

    Checked here, where it enters, before any geometry library or database sees it: two
    finite numbers, longitude within ±180 and latitude within ±90 (a coordinate of 1e300
    once aborted the web process inside SpatiaLite), no height. The usual GeoJSON object is
    read in Python (GDAL's parser cost ~0.1 ms per point on the report filing API) and
    written back the same way; WKT and GeoJSON strings still go through GEOS.
    """

    def to_internal_value(self, value):
        if value == "" or value is None:
            return value
        if isinstance(value, dict):
            if value.get("type") != "Point":
                raise serializers.ValidationError("Give a GeoJSON Point.")
            coordinates = value.get("coordinates")
        else:
            geometry = value
            if not isinstance(geometry, GEOSGeometry):
                geometry = super().to_internal_value(value)
            if geometry.geom_type != "Point":
                raise serializers.ValidationError("Give a GeoJSON Point.")
            if geometry.srid not in (None, 4326):
                raise serializers.ValidationError("Give the point in WGS84 (EPSG:4326).")
            coordinates = list(geometry.coords)
        return Point(*lon_lat_checked(coordinates), srid=4326)

    def to_representation(self, value):
        if isinstance(value, Point) and value.srid in (None, 4326) and not value.empty:
            return {"type": "Point", "coordinates": [value.x, value.y]}
        return super().to_representation(value)


def lon_lat_checked(coordinates) -> tuple[float, float]:
    """(longitude, latitude) from a GeoJSON position, or a ValidationError saying why not."""
    if not isinstance(coordinates, list | tuple) or len(coordinates) < 2:
        raise serializers.ValidationError("Give the coordinates as [longitude, latitude].")
    if len(coordinates) > 2:
        raise serializers.ValidationError(
            "Give longitude and latitude only: the height is not recorded."
        )
    lon, lat = coordinates
    for name, number, limit in (("longitude", lon, 180), ("latitude", lat, 90)):
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise serializers.ValidationError(f"The {name} must be a number.")
        if not -limit <= number <= limit:  # NaN and infinities fail it too
            raise serializers.ValidationError(
                f"The {name} must lie between -{limit} and {limit} degrees."
            )
    return float(lon), float(lat)

from drf_spectacular.utils import extend_schema_field
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
    """A GeoJSON Point (places of incidents, observers, restrictions)."""

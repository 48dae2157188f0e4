"""The API's checked fields, shared by every app's serializers: geometries and coordinates
read through core.geometry (the admin and the API refuse the same things, naming why), and
datetimes and dates bounded to the mission's years and read with their time zone."""

from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework_gis.fields import GeometryField

from core.dates import check_mission_years
from core.geometry import GeometryRefused, geometry_or_refusal, lon_lat


class CheckedGeometryField(GeometryField):
    """A GeoJSON geometry of one of `kinds`, checked by core.geometry where it enters: before
    any geometry library or the database sees it (a coordinate of 1e300 once aborted the web
    process inside SpatiaLite). Refusals name the reason; the serializer names the field."""

    kinds: tuple[str, ...] = ()

    def to_internal_value(self, value):
        if value == "" or value is None:
            return value
        try:
            return geometry_or_refusal(value, kinds=self.kinds)
        except GeometryRefused as refusal:
            raise serializers.ValidationError(str(refusal)) from None


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
class LineStringField(CheckedGeometryField):
    """A GeoJSON LineString (routes)."""

    kinds = ("LineString",)


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
class PointField(CheckedGeometryField):
    """A GeoJSON Point in WGS84 (places of incidents, observers, restrictions).

    The usual GeoJSON object is read in Python (GDAL's parser cost ~0.1 ms per point on the
    report filing API) and written back the same way; text goes through core.geometry.
    """

    kinds = ("Point",)

    def to_internal_value(self, value):
        if isinstance(value, dict) and set(value) <= {"type", "coordinates"}:
            # The tablet's shape: checked and built without GEOS's parser (the hot path).
            if value.get("type") != "Point":
                raise serializers.ValidationError(
                    f"Give a GeoJSON Point, not {value.get('type')!r:.40}."
                )
            return Point(*lon_lat_checked(value.get("coordinates")), srid=4326)
        return super().to_internal_value(value)

    def to_representation(self, value):
        if isinstance(value, Point) and value.srid in (None, 4326) and not value.empty:
            return {"type": "Point", "coordinates": [value.x, value.y]}
        return super().to_representation(value)


def lon_lat_checked(coordinates) -> tuple[float, float]:
    """(longitude, latitude) from a GeoJSON position, or a ValidationError saying why not."""
    try:
        return lon_lat(coordinates)
    except GeometryRefused as refusal:
        raise serializers.ValidationError(str(refusal)) from None


class LatitudeField(serializers.FloatField):
    """A latitude in degrees: finite, within ±90 (DRF's FloatField lets NaN through its
    min/max validators, and "nan" arrives from forms)."""

    bound, name = 90, "latitude"

    def to_internal_value(self, data):
        number = super().to_internal_value(data)
        if not -self.bound <= number <= self.bound:
            raise serializers.ValidationError(
                f"The {self.name} must lie between -{self.bound} and {self.bound} degrees."
            )
        return number


class LongitudeField(LatitudeField):
    bound, name = 180, "longitude"


class ZonedDateTimeField(serializers.DateTimeField):
    """An ISO 8601 time that says its offset, within the years the mission's records can
    hold (core.dates.check_mission_years, the rule the pages keep too).

    DRF would read a time without an offset in the server's zone (Asia/Yerevan): a tablet
    set to another zone would then file the wrong hour without a word. Years outside the
    bounds are typing mistakes (year 1) or attacks (9999-12-31 overflows converting to UTC).
    """

    def to_internal_value(self, value):
        try:
            return super().to_internal_value(value)
        except OverflowError:
            raise serializers.ValidationError(_out_of_years()) from None

    def enforce_timezone(self, value):
        if timezone.is_naive(value):
            raise serializers.ValidationError(
                "Give the time with its offset, e.g. 2026-12-01T14:30:00+04:00 (Yerevan) "
                "or 2026-12-01T10:30:00Z."
            )
        _in_mission_years(value)
        try:
            return super().enforce_timezone(value)
        except OverflowError:
            raise serializers.ValidationError(_out_of_years()) from None


class MissionDateField(serializers.DateField):
    """A calendar date within the years the mission's records can hold."""

    def to_internal_value(self, value):
        day = super().to_internal_value(value)
        _in_mission_years(day)
        return day


def _in_mission_years(value):
    try:
        check_mission_years(value)
    except DjangoValidationError as error:
        raise serializers.ValidationError(error.messages) from None


def _out_of_years() -> str:
    first, last = settings.MISSION_YEARS
    return f"The date must lie between the years {first} and {last}."

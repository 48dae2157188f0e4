"""Where an incident may be placed: the mission's rule is about where the monitor stands.

The observer position must lie in the mission area (one of the five border provinces). The
incident itself may lie in the mission area, or across the line, up to
INCIDENT_MAX_BEYOND_BORDER_KM from the international border: most fire is observed across
it. An incident across the line needs the observer's position, takes the observer's sector,
is flagged `across_line`, and is described by its nearest settlement on either side.

The tablet checks the same rule offline before it saves (static/tablet/placement.js, with
the geography it caches); reports/tests/placement_cases.json holds the cases both must
decide alike, and the messages here and there are the same words.
"""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError

from core.models import Province
from core.selectors import (
    as_wgs84,
    bearing_degrees,
    describe_location,
    distance_to_armenia_km,
    distance_to_border_km,
    geodesic_km,
    nearest_settlement,
    province_at,
)

ACROSS_THE_LINE = "across the line"
# Outside Armenia, a point is across *the line* when Armenia's nearest edge is a stretch of
# the Armenia–Azerbaijan boundary (the data's border is the provinces' own edge): further
# from the line than from Armenia by more than this, it lies beyond a border with Georgia,
# Turkey or Iran. Near a meeting point of three countries both are close: there it passes.
SIDE_TOLERANCE_KM, SIDE_TOLERANCE_SHARE = 0.25, 0.02


@dataclass(frozen=True)
class Placement:
    sector: Province
    across_line: bool
    location_phrase: str
    # From the observer to the incident, when the observer's position is known.
    bearing_degrees: int | None
    distance_m: int | None


def _at(point: Point) -> str:
    return f"{point.y:.5f}N {point.x:.5f}E"


def observer_refusal(point: Point) -> str:
    return (
        f"Your position ({_at(point)}) is outside the mission area: the observer must stand "
        "in one of the five border provinces."
    )


def incident_placement(*, location: Point, observer_position: Point | None) -> Placement:
    """The sector, flag and phrase of an incident at `location` seen from `observer_position`.

    Raises ValidationError naming `observer_position` and/or `location` with the reason when
    the rule refuses them (both at once when both are wrong).
    """
    location = as_wgs84(location)
    observer = as_wgs84(observer_position)
    errors = {}
    observer_sector = None
    if observer is not None:
        province = province_at(observer)
        if province is not None and province.is_sector:
            observer_sector = province
        else:
            errors["observer_position"] = [observer_refusal(observer)]

    province = province_at(location)
    across = province is None
    if province is not None and not province.is_sector:
        errors["location"] = [
            f"{_at(location)} is in {province.name}, outside the mission area (the five border "
            "provinces)."
        ]
    elif across:
        limit = settings.INCIDENT_MAX_BEYOND_BORDER_KM
        if distance_to_border_km(location) > limit:
            errors["location"] = [
                f"{_at(location)} is outside the mission area and more than {limit:g} km beyond "
                f"the border: an incident across the line must lie within {limit:g} km of it."
            ]
        elif distance_to_border_km(location, international_only=False) > (
            distance_to_armenia_km(location) * (1 + SIDE_TOLERANCE_SHARE) + SIDE_TOLERANCE_KM
        ):
            errors["location"] = [
                f"{_at(location)} is outside the mission area, beyond Armenia's border with "
                "another country: an incident across the line must lie on the Azerbaijani "
                "side of it."
            ]
        elif observer is None:
            errors["location"] = [
                f"{_at(location)} is across the line, outside the mission area: give your "
                "position (where you stood, in the mission area) to report what you saw there."
            ]
    if observer is not None and "location" not in errors and "observer_position" not in errors:
        farthest_km = settings.REPORT_MAX_DISTANCE_M / 1000
        if geodesic_km(observer, location) > farthest_km:
            errors["location"] = [
                f"{_at(location)} is more than {farthest_km:g} km from your position: too far "
                "to have been seen from there."
            ]
    if errors:
        raise ValidationError(errors)

    bearing = distance = None
    if observer is not None:
        bearing = round(bearing_degrees(observer, location)) % 360
        distance = round(geodesic_km(observer, location) * 1000)
    if across:
        relative = nearest_settlement(location)
        where = relative.phrase_across() if relative else f"{location.y:.4f}N {location.x:.4f}E"
        phrase = f"{ACROSS_THE_LINE}, {where}"
    else:
        phrase = describe_location(location, province=province)
    return Placement(
        sector=observer_sector if across else province,
        across_line=across,
        location_phrase=phrase[:160],
        bearing_degrees=bearing,
        distance_m=distance,
    )

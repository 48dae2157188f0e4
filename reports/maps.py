"""The incident map's reading of the reports a user may see (the queryset comes from
reports.selectors.incident_report_list): at a wide zoom, clusters counted in the database
over a grid that follows the zoom, crowded cells merged; at a close zoom, one feature per
report. A selector of its own because it is the one reading with geometry arithmetic."""

import itertools
import math

from django.db.models import Avg, Count, F, FloatField, Func, Max, Min, QuerySet, Value
from django.db.models.functions import Floor
from django.urls import reverse

from reports.models import IncidentReport

# --- Clusters ------------------------------------------------------------------------

# A cluster is one cell of a grid anchored at 0°,0° whose size follows the map's zoom: about
# CLUSTER_CELL_PX screen pixels. Anchored, so clusters do not jump when the map is panned.
CLUSTER_CELL_PX = 64
# Web Mercator stretches latitude by 1/cos(lat): the mission lies around 40° N, so cells
# this much shorter in latitude look square on the map.
CELL_ASPECT = math.cos(math.radians(40))
# A request may not ask for more cells across than a 6,400-pixel screen shows (a whole-world
# bbox at a street zoom would otherwise make every incident its own feature).
MAX_CELLS_ACROSS = 100


class _X(Func):
    function = "ST_X"
    output_field = FloatField()


class _Y(Func):
    function = "ST_Y"
    output_field = FloatField()


def cluster_cell_size(zoom: int) -> tuple[float, float]:
    """The cell's width and height in degrees at this zoom (256-pixel tiles)."""
    width = 360 / (256 * 2**zoom) * CLUSTER_CELL_PX
    return width, width * CELL_ASPECT


def incident_map_features(*, queryset: QuerySet[IncidentReport], zoom: int) -> dict:
    """What the map draws for these incidents at this zoom, as a GeoJSON FeatureCollection.

    One aggregate query groups the incidents by grid cell (count, mean position, extent,
    highest severity); a cell holding a single incident is drawn as that incident, read in a
    second query. Two queries whatever the number of incidents, and at most as many features
    as cells on the screen. `queryset` is already restricted to what the user may see and
    filtered (bbox included).
    """
    width, height = cluster_cell_size(zoom)
    cells = list(
        queryset.order_by()
        .select_related(None)
        .prefetch_related(None)
        .annotate(lon=_X("location"), lat=_Y("location"))
        .annotate(cx=Floor(F("lon") / Value(width)), cy=Floor(F("lat") / Value(height)))
        .values("cx", "cy")
        .annotate(
            count=Count("pk"),
            first=Min("pk"),
            max_severity=Max("severity"),
            mean_lon=Avg("lon"),
            mean_lat=Avg("lat"),
            west=Min("lon"),
            east=Max("lon"),
            south=Min("lat"),
            north=Max("lat"),
        )  # fmt: skip
        .order_by("cy", "cx")
    )
    cells = _merge_crowded(cells, width, height)
    single_ids = [cell["first"] for cell in cells if cell["count"] == 1]
    singles = {
        report.pk: report
        for report in queryset.order_by().select_related("sector").prefetch_related(None)
        .filter(pk__in=single_ids)
    }  # fmt: skip
    features = []
    for cell in cells:
        if cell["count"] == 1 and cell["first"] in singles:
            features.append(_incident_feature(singles[cell["first"]]))
            continue
        features.append({
            "type": "Feature",
            "geometry": {"type": "Point",
                         "coordinates": [round(cell["mean_lon"], 6), round(cell["mean_lat"], 6)]},
            "properties": {
                "cluster": True,
                "count": cell["count"],
                "max_severity": cell["max_severity"],
                "bbox": [round(cell[k], 6) for k in ("west", "south", "east", "north")],
            },
        })  # fmt: skip
    return {
        "type": "FeatureCollection",
        "zoom": zoom,
        "total": sum(cell["count"] for cell in cells),
        "features": features,
    }


# Two neighbouring cells whose incidents gather near their common edge would draw their
# markers on top of each other: closer than this share of a cell, they are drawn as one.
CROWDED = 0.9


def _merge_crowded(cells: list[dict], width: float, height: float) -> list[dict]:
    """Merge each cell with the neighbours (of the 3×3 around it) whose incidents' mean
    position is closer than CROWDED cells to its own, the most populous cells first."""
    by_key = {(c["cx"], c["cy"]): c for c in cells}
    taken, merged = set(), []
    for cell in sorted(cells, key=lambda c: (-c["count"], c["cy"], c["cx"])):
        key = (cell["cx"], cell["cy"])
        if key in taken:
            continue
        taken.add(key)
        group = dict(cell)
        for dx, dy in itertools.product((-1, 0, 1), repeat=2):
            near = (key[0] + dx, key[1] + dy)
            other = by_key.get(near)
            if other is None or near in taken:
                continue
            if (abs(other["mean_lon"] - group["mean_lon"]) < CROWDED * width
                    and abs(other["mean_lat"] - group["mean_lat"]) < CROWDED * height):  # fmt: skip
                taken.add(near)
                total = group["count"] + other["count"]
                for axis in ("mean_lon", "mean_lat"):
                    group[axis] = (group[axis] * group["count"]
                                   + other[axis] * other["count"]) / total  # fmt: skip
                group["count"] = total
                group["first"] = min(group["first"], other["first"])
                group["max_severity"] = max(group["max_severity"], other["max_severity"])
                group["west"], group["south"] = (min(group["west"], other["west"]),
                                                 min(group["south"], other["south"]))  # fmt: skip
                group["east"], group["north"] = (max(group["east"], other["east"]),
                                                 max(group["north"], other["north"]))  # fmt: skip
        merged.append(group)
    return sorted(merged, key=lambda c: (c["cy"], c["cx"]))


def _incident_feature(report: IncidentReport) -> dict:
    return {
        "type": "Feature",
        "id": str(report.uuid),
        "geometry": {"type": "Point",
                     "coordinates": [round(report.location.x, 6), round(report.location.y, 6)]},
        "properties": {
            "cluster": False,
            "uuid": str(report.uuid),
            "reference": report.reference,
            "category": report.get_category_display(),
            "severity": report.severity,
            "severity_label": report.get_severity_display(),
            "across_line": report.across_line,
            "observed_at": report.observed_at.isoformat(),
            "location_phrase": report.location_phrase,
            "sector": report.sector.name,
            "status": report.get_status_display(),
            "verification": report.get_verification_display(),
            "casualties": report.casualties,
            "url": reverse("incident-detail", args=[report.uuid]),
        },
    }  # fmt: skip

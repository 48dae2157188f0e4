"""What a server-drawn map is made of: the caller's features (lines, points, areas) in
(lon, lat) degrees, the box they are drawn in, and the projection of that box onto the frame.

The projection is equirectangular with the longitude scaled by cos(latitude) at the middle of
the box, which at Armenia's scale (about 3° of latitude) distorts distances by well under 1 %.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

KM_PER_DEGREE = 111.195  # mean Earth radius 6371.0 km

Coords = Sequence[tuple[float, float]]


@dataclass(frozen=True)
class MapLine:
    """A line drawn over the base layers (a route, a track), with a white halo to stand out."""

    coords: Coords
    colour: str = "#0b4f9c"
    width: float = 3.5
    dash: str | None = None
    label: str = ""


@dataclass(frozen=True)
class MapPoint:
    """A marker: a numbered disc when `number` is given (waypoints), a plain dot otherwise."""

    lon: float
    lat: float
    label: str = ""
    colour: str = "#0b4f9c"
    radius: float = 5.0
    number: int | str | None = None


@dataclass(frozen=True)
class MapPolygon:
    """An area (a restricted zone): rings as (lon, lat) sequences, the first one the outline."""

    rings: Sequence[Coords]
    fill: str = "#c62828"
    fill_opacity: float = 0.18
    stroke: str = "#c62828"
    width: float = 1.5
    dash: str | None = None


Feature = MapLine | MapPoint | MapPolygon


@dataclass(frozen=True)
class BBox:
    west: float
    south: float
    east: float
    north: float

    @classmethod
    def around(cls, coords: Iterable[tuple[float, float]]) -> "BBox | None":
        coords = list(coords)
        if not coords:
            return None
        lons = [c[0] for c in coords]
        lats = [c[1] for c in coords]
        return cls(min(lons), min(lats), max(lons), max(lats))

    def padded(self, fraction: float = 0.15, min_km: float = 20.0) -> "BBox":
        """Grown by `fraction` on every side, and to at least `min_km` across each way."""
        kx = KM_PER_DEGREE * math.cos(math.radians((self.south + self.north) / 2))
        width_km = max((self.east - self.west) * kx * (1 + 2 * fraction), min_km)
        height_km = max((self.north - self.south) * KM_PER_DEGREE * (1 + 2 * fraction), min_km)
        cx, cy = (self.west + self.east) / 2, (self.south + self.north) / 2
        half_lon, half_lat = width_km / kx / 2, height_km / KM_PER_DEGREE / 2
        return BBox(cx - half_lon, cy - half_lat, cx + half_lon, cy + half_lat)

    def contains(self, lon: float, lat: float) -> bool:
        return self.west <= lon <= self.east and self.south <= lat <= self.north


@dataclass
class Projection:
    """(lon, lat) → SVG pixels, fitted to the frame with the bbox grown to the frame's shape."""

    bbox: BBox
    width: int
    height: int
    kx: float = field(init=False)
    scale: float = field(init=False)  # pixels per degree of latitude

    def __post_init__(self):
        b = self.bbox
        self.kx = math.cos(math.radians((b.south + b.north) / 2))
        span_x = (b.east - b.west) * self.kx
        span_y = b.north - b.south
        self.scale = min(self.width / span_x, self.height / span_y)
        # Grow the box so the map fills the whole frame, centred on what was asked for.
        half_x = self.width / self.scale / self.kx / 2
        half_y = self.height / self.scale / 2
        cx, cy = (b.west + b.east) / 2, (b.south + b.north) / 2
        self.bbox = BBox(cx - half_x, cy - half_y, cx + half_x, cy + half_y)

    def __call__(self, lon: float, lat: float) -> tuple[float, float]:
        return (
            (lon - self.bbox.west) * self.kx * self.scale,
            (self.bbox.north - lat) * self.scale,
        )

    @property
    def pixels_per_km(self) -> float:
        return self.scale / KM_PER_DEGREE


def feature_coords(features: Iterable[Feature]):
    """Every (lon, lat) of these features: what the map's box must hold."""
    for feature in features:
        if isinstance(feature, MapLine):
            yield from feature.coords
        elif isinstance(feature, MapPoint):
            yield (feature.lon, feature.lat)
        elif isinstance(feature, MapPolygon):
            for ring in feature.rings:
                yield from ring

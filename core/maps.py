"""Small server-side maps as SVG: the mission's base layers with the caller's features on top.

No tiles and no network: the map is drawn from our own reference geography (provinces, the
border, settlements), so it renders offline, in a PDF or an e-mail, exactly the same every time.
The projection is equirectangular with the longitude scaled by cos(latitude) at the middle of the
box, which at Armenia's scale (about 3° of latitude) distorts distances by well under 1 %.

    svg = render_map_svg(
        layers=[
            MapLine(coords=[(45.67, 39.84), (45.80, 39.90)], colour="#0b4f9c"),
            MapPoint(lon=45.67, lat=39.84, label="Jermuk", number=1),
        ]
    )
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from django.contrib.gis.geos import Polygon

from core.models import BorderSegment, Province, Settlement

KM_PER_DEGREE = 111.195  # mean Earth radius 6371.0 km
ATTRIBUTION = "Made with Natural Earth; GeoNames (CC BY 4.0)"
FONT = "DejaVu Sans, sans-serif"

# Outside Armenia is a neutral grey so that our side of the line reads at a glance.
STYLE = {
    "background": "#e6e8eb",
    "province_fill": "#fbfaf7",
    "sector_fill": "#f4efe2",
    "province_stroke": "#a9a49a",
    "province_label": "#8c8577",
    "border": "#c62828",
    "settlement": "#333333",
    "settlement_label": "#333333",
    "halo": "#ffffff",
    "frame": "#555555",
}

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
class _Projection:
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


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def _path_data(project, rings: Iterable[Coords], close: bool) -> str:
    parts = []
    for ring in rings:
        points = [project(x, y) for x, y in ring]
        if not points:
            continue
        parts.append(
            "M" + " L".join(f"{_fmt(x)} {_fmt(y)}" for x, y in points) + (" Z" if close else "")
        )
    return " ".join(parts)


def _text(x, y, content, *, size=10, fill="#333", anchor="start", weight="normal", halo=True):
    """Text with a white halo drawn as a separate stroke-only copy underneath.

    A copy rather than `paint-order`, which not every SVG renderer (WeasyPrint's) supports.
    """
    attrs = (
        f'x="{_fmt(x)}" y="{_fmt(y)}" font-family="{FONT}" font-size="{size}" '
        f'font-weight="{weight}" text-anchor="{anchor}"'
    )
    body = escape(str(content))
    under = (
        f'<text {attrs} fill="none" stroke="{STYLE["halo"]}" stroke-width="3" '
        f'stroke-linejoin="round">{body}</text>'
        if halo
        else ""
    )
    return f'{under}<text {attrs} fill="{fill}">{body}</text>'


class _Labels:
    """Greedy label placement: a label that would overlap one already placed is left out."""

    def __init__(self, width, height):
        self.width, self.height = width, height
        self.boxes = []

    def place(self, x, y, text, size, anchor="start") -> bool:
        w = len(text) * size * 0.6
        left = x - w / 2 if anchor == "middle" else x
        box = (left - 2, y - size, left + w + 2, y + size * 0.3)
        if box[0] < 0 or box[2] > self.width or box[1] < 0 or box[3] > self.height:
            return False
        if any(
            box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in self.boxes
        ):
            return False
        self.boxes.append(box)
        return True

    def reserve(self, x0, y0, x1, y1):
        self.boxes.append((x0, y0, x1, y1))


def _nice_km(target_km: float) -> float:
    for step in (0.5, 1, 2, 5, 10, 20, 25, 50, 100, 200, 500):
        if step >= target_km:
            return step
    return 1000


def _scale_bar(project, width, height) -> str:
    km = _nice_km(width * 0.18 / project.pixels_per_km)
    length = km * project.pixels_per_km
    x0, y0 = 14, height - 26
    half = length / 2
    label = f"{km:g} km"
    return (
        f'<g class="scale-bar">'
        f'<rect x="{x0 - 6}" y="{y0 - 16}" width="{_fmt(length + 12)}" height="28" '
        f'fill="#ffffff" fill-opacity="0.85" rx="3"/>'
        f'<rect x="{x0}" y="{y0}" width="{_fmt(half)}" height="5" fill="#333"/>'
        f'<rect x="{_fmt(x0 + half)}" y="{y0}" width="{_fmt(half)}" height="5" '
        f'fill="#fff" stroke="#333" stroke-width="1"/>'
        f'<rect x="{x0}" y="{y0}" width="{_fmt(length)}" height="5" fill="none" '
        f'stroke="#333" stroke-width="1"/>'
        + _text(x0, y0 - 4, "0", size=9, halo=False)
        + _text(x0 + length, y0 - 4, label, size=9, anchor="end", halo=False)
        + "</g>"
    )


def _north_arrow(width) -> str:
    x, y = width - 26, 14
    return (
        f'<g class="north-arrow">'
        f'<circle cx="{x}" cy="{y + 17}" r="15" fill="#ffffff" fill-opacity="0.85"/>'
        f'<path d="M{x} {y + 4} L{x + 6} {y + 24} L{x} {y + 20} Z" fill="#333"/>'
        f'<path d="M{x} {y + 4} L{x - 6} {y + 24} L{x} {y + 20} Z" fill="#fff" '
        f'stroke="#333" stroke-width="0.8"/>'
        + _text(x, y + 44, "N", size=11, anchor="middle", weight="bold")
        + "</g>"
    )


def _feature_coords(features: Iterable[Feature]):
    for feature in features:
        if isinstance(feature, MapLine):
            yield from feature.coords
        elif isinstance(feature, MapPoint):
            yield (feature.lon, feature.lat)
        elif isinstance(feature, MapPolygon):
            for ring in feature.rings:
                yield from ring


def render_map_svg(
    *,
    layers: Sequence[Feature] = (),
    bbox: BBox | tuple[float, float, float, float] | None = None,
    width: int = 800,
    height: int = 600,
    settlement_labels: bool = True,
) -> str:
    """An SVG document: provinces (sectors tinted), the border, settlements, then `layers`.

    `bbox` is (west, south, east, north) in degrees; by default the extent of `layers` padded
    15 % and at least 20 km across, or the whole country when there are no layers.
    Three queries, one per base layer, whatever the number of features.
    """
    provinces = list(Province.objects.only("name", "is_sector", "geom"))
    border = list(BorderSegment.objects.only("is_international", "geom"))
    settlements = list(Settlement.objects.only("name", "location"))

    if bbox is not None and not isinstance(bbox, BBox):
        bbox = BBox(*bbox)
    if bbox is None:
        extent = BBox.around(_feature_coords(layers))
        if extent is not None:
            bbox = extent.padded()
        else:
            extent = BBox.around(
                (x, y) for p in provinces for poly in p.geom for ring in poly for x, y in ring
            )
            bbox = extent.padded(0.03) if extent else BBox(43.4, 38.8, 46.7, 41.35)
    project = _Projection(bbox, width, height)
    view = project.bbox
    labels = _Labels(width, height)
    # Keep the corners for the north arrow, the scale bar and the attribution.
    labels.reserve(width - 46, 0, width, 66)
    labels.reserve(0, height - 46, width * 0.3, height)
    labels.reserve(width - 290, height - 18, width, height)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">',
        f'<defs><clipPath id="map-frame"><rect x="0" y="0" width="{width}" height="{height}"/>'
        f"</clipPath></defs>",
        f'<rect width="{width}" height="{height}" fill="{STYLE["background"]}"/>',
        '<g clip-path="url(#map-frame)">',
        '<g class="provinces">',
    ]
    for province in provinces:
        fill = STYLE["sector_fill"] if province.is_sector else STYLE["province_fill"]
        data = _path_data(project, (ring for poly in province.geom for ring in poly), close=True)
        out.append(
            f'<path class="province{" sector" if province.is_sector else ""}" '
            f'data-name={quoteattr(province.name)} d={quoteattr(data)} fill="{fill}" '
            f'fill-rule="evenodd" stroke="{STYLE["province_stroke"]}" stroke-width="0.8"/>'
        )
    out.append("</g>")

    for feature in layers:
        if isinstance(feature, MapPolygon):
            dash = f' stroke-dasharray="{feature.dash}"' if feature.dash else ""
            data = _path_data(project, feature.rings, close=True)
            out.append(
                f'<path class="extra-area" d={quoteattr(data)} fill="{feature.fill}" '
                f'fill-opacity="{feature.fill_opacity}" fill-rule="evenodd" '
                f'stroke="{feature.stroke}" stroke-width="{feature.width}"{dash}/>'
            )

    out.append('<g class="border">')
    for segment in border:
        data = _path_data(project, segment.geom, close=False)
        style = (
            'stroke-width="2.6"'
            if segment.is_international
            else 'stroke-width="1.2" stroke-dasharray="4 3"'
        )
        out.append(
            f'<path class="border{" international" if segment.is_international else ""}" '
            f'd={quoteattr(data)} fill="none" stroke="{STYLE["border"]}" {style} '
            f'stroke-linejoin="round" stroke-linecap="round"/>'
        )
    out.append("</g>")

    # Province names first in the label queue would crowd out the places the reader needs,
    # so they are placed last, where room is left.
    place_labels = []
    out.append('<g class="settlements">')
    for settlement in settlements:
        lon, lat = settlement.location.x, settlement.location.y
        if not view.contains(lon, lat):
            continue
        x, y = project(lon, lat)
        out.append(
            f'<circle class="settlement" cx="{_fmt(x)}" cy="{_fmt(y)}" r="2.8" '
            f'fill="{STYLE["settlement"]}" stroke="{STYLE["halo"]}" stroke-width="1"/>'
        )
        labels.reserve(x - 3, y - 3, x + 3, y + 3)
        if settlement_labels:
            place_labels.append((x + 5, y + 3.5, settlement.name))
    out.append("</g>")

    for feature in layers:
        if isinstance(feature, MapLine):
            data = _path_data(project, [feature.coords], close=False)
            dash = f' stroke-dasharray="{feature.dash}"' if feature.dash else ""
            common = 'fill="none" stroke-linejoin="round" stroke-linecap="round"'
            out.append(
                f'<path class="extra-line-halo" d={quoteattr(data)} {common} '
                f'stroke="{STYLE["halo"]}" stroke-width="{feature.width + 3}" '
                f'stroke-opacity="0.9"/>'
                f'<path class="extra-line" d={quoteattr(data)} {common} '
                f'stroke="{feature.colour}" stroke-width="{feature.width}"{dash}/>'
            )

    point_labels = []
    for feature in layers:
        if not isinstance(feature, MapPoint):
            continue
        x, y = project(feature.lon, feature.lat)
        r = feature.radius if feature.number is None else max(feature.radius, 8.5)
        out.append(
            f'<circle class="extra-point" cx="{_fmt(x)}" cy="{_fmt(y)}" r="{r}" '
            f'fill="{feature.colour}" stroke="{STYLE["halo"]}" stroke-width="1.5"/>'
        )
        if feature.number is not None:
            out.append(
                _text(x, y + 3.6, feature.number, size=10, fill="#ffffff", anchor="middle",
                      weight="bold", halo=False)
            )  # fmt: skip
        labels.reserve(x - r, y - r, x + r, y + r)
        if feature.label:
            point_labels.append((x + r + 3, y + 4, feature.label))

    # The caller's labels win over the base layers' when they collide.
    for x, y, text in point_labels:
        if labels.place(x, y, text, 11):
            out.append(_text(x, y, text, size=11, fill="#111111", weight="bold"))
    for x, y, text in place_labels:
        # To the right of the dot, else to its left.
        if labels.place(x, y, text, 10):
            out.append(_text(x, y, text, size=10, fill=STYLE["settlement_label"]))
        elif labels.place(x - 10 - len(text) * 6, y, text, 10):
            out.append(_text(x - 10, y, text, size=10, fill=STYLE["settlement_label"],
                             anchor="end"))  # fmt: skip
    frame = Polygon.from_bbox((view.west, view.south, view.east, view.north))
    for province in provinces:
        # Label the part of the province that is on the map, not its far-away centre.
        shown = province.geom.intersection(frame) if province.geom.intersects(frame) else None
        if shown is None or shown.empty:
            continue
        centre = shown.point_on_surface
        x, y = project(centre.x, centre.y)
        text = province.name.upper()
        if labels.place(x, y, text, 9, anchor="middle"):
            out.append(
                _text(x, y, text, size=9, fill=STYLE["province_label"], anchor="middle",
                      weight="bold")
            )  # fmt: skip

    out.append("</g>")
    out.append(_scale_bar(project, width, height))
    out.append(_north_arrow(width))
    out.append(
        f'<rect x="{width - 286}" y="{height - 16}" width="286" height="16" fill="#ffffff" '
        f'fill-opacity="0.8"/>'
        + _text(width - 5, height - 4.5, ATTRIBUTION, size=9, fill="#555555", anchor="end",
                halo=False)
    )  # fmt: skip
    out.append(
        f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" fill="none" '
        f'stroke="{STYLE["frame"]}" stroke-width="1"/>'
    )
    out.append("</svg>")
    return "".join(out)

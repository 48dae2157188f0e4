"""Drawing one map: the mission's base layers (provinces with the sectors tinted, the border,
settlements) read in three queries, then the caller's features over them, labels placed so
the caller's win, and the scale bar, north arrow and attribution."""

from collections.abc import Sequence
from xml.sax.saxutils import quoteattr

from django.contrib.gis.geos import Polygon

from core.maps import svg
from core.maps.features import (
    BBox,
    Feature,
    MapLine,
    MapPoint,
    MapPolygon,
    Projection,
    feature_coords,
)
from core.selectors import map_base_layers

ATTRIBUTION = "Made with Natural Earth; GeoNames (CC BY 4.0)"


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
    provinces, border, settlements = map_base_layers()

    if bbox is not None and not isinstance(bbox, BBox):
        bbox = BBox(*bbox)
    if bbox is None:
        extent = BBox.around(feature_coords(layers))
        if extent is not None:
            bbox = extent.padded()
        else:
            extent = BBox.around(
                (x, y) for p in provinces for poly in p.geom for ring in poly for x, y in ring
            )
            bbox = extent.padded(0.03) if extent else BBox(43.4, 38.8, 46.7, 41.35)
    project = Projection(bbox, width, height)
    view = project.bbox
    labels = svg.Labels(width, height)
    # Keep the corners for the north arrow, the scale bar and the attribution.
    labels.reserve(width - 46, 0, width, 66)
    labels.reserve(0, height - 46, width * 0.3, height)
    labels.reserve(width - 290, height - 18, width, height)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">',
        f'<defs><clipPath id="map-frame"><rect x="0" y="0" width="{width}" height="{height}"/>'
        f"</clipPath></defs>",
        f'<rect width="{width}" height="{height}" fill="{svg.STYLE["background"]}"/>',
        '<g clip-path="url(#map-frame)">',
        '<g class="provinces">',
    ]
    for province in provinces:
        fill = svg.STYLE["sector_fill"] if province.is_sector else svg.STYLE["province_fill"]
        data = svg.path_data(project, (ring for poly in province.geom for ring in poly), close=True)
        out.append(
            f'<path class="province{" sector" if province.is_sector else ""}" '
            f'data-name={quoteattr(province.name)} d={quoteattr(data)} fill="{fill}" '
            f'fill-rule="evenodd" stroke="{svg.STYLE["province_stroke"]}" stroke-width="0.8"/>'
        )
    out.append("</g>")

    for feature in layers:
        if isinstance(feature, MapPolygon):
            dash = f' stroke-dasharray="{feature.dash}"' if feature.dash else ""
            data = svg.path_data(project, feature.rings, close=True)
            out.append(
                f'<path class="extra-area" d={quoteattr(data)} fill="{feature.fill}" '
                f'fill-opacity="{feature.fill_opacity}" fill-rule="evenodd" '
                f'stroke="{feature.stroke}" stroke-width="{feature.width}"{dash}/>'
            )

    out.append('<g class="border">')
    for segment in border:
        data = svg.path_data(project, segment.geom, close=False)
        style = (
            'stroke-width="2.6"'
            if segment.is_international
            else 'stroke-width="1.2" stroke-dasharray="4 3"'
        )
        out.append(
            f'<path class="border{" international" if segment.is_international else ""}" '
            f'd={quoteattr(data)} fill="none" stroke="{svg.STYLE["border"]}" {style} '
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
            f'<circle class="settlement" cx="{svg.fmt(x)}" cy="{svg.fmt(y)}" r="2.8" '
            f'fill="{svg.STYLE["settlement"]}" stroke="{svg.STYLE["halo"]}" stroke-width="1"/>'
        )
        labels.reserve(x - 3, y - 3, x + 3, y + 3)
        if settlement_labels:
            place_labels.append((x + 5, y + 3.5, settlement.name))
    out.append("</g>")

    for feature in layers:
        if isinstance(feature, MapLine):
            data = svg.path_data(project, [feature.coords], close=False)
            dash = f' stroke-dasharray="{feature.dash}"' if feature.dash else ""
            common = 'fill="none" stroke-linejoin="round" stroke-linecap="round"'
            out.append(
                f'<path class="extra-line-halo" d={quoteattr(data)} {common} '
                f'stroke="{svg.STYLE["halo"]}" stroke-width="{feature.width + 3}" '
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
            f'<circle class="extra-point" cx="{svg.fmt(x)}" cy="{svg.fmt(y)}" r="{r}" '
            f'fill="{feature.colour}" stroke="{svg.STYLE["halo"]}" stroke-width="1.5"/>'
        )
        if feature.number is not None:
            out.append(
                svg.halo_text(x, y + 3.6, feature.number, size=10, fill="#ffffff", anchor="middle",
                      weight="bold", halo=False)
            )  # fmt: skip
        labels.reserve(x - r, y - r, x + r, y + r)
        if feature.label:
            point_labels.append((x + r + 3, y + 4, feature.label))

    # The caller's labels win over the base layers' when they collide.
    for x, y, text in point_labels:
        if labels.place(x, y, text, 11):
            out.append(svg.halo_text(x, y, text, size=11, fill="#111111", weight="bold"))
    for x, y, text in place_labels:
        # To the right of the dot, else to its left.
        if labels.place(x, y, text, 10):
            out.append(svg.halo_text(x, y, text, size=10, fill=svg.STYLE["settlement_label"]))
        elif labels.place(x - 10 - len(text) * 6, y, text, 10):
            out.append(svg.halo_text(x - 10, y, text, size=10, fill=svg.STYLE["settlement_label"],
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
                svg.halo_text(x, y, text, size=9, fill=svg.STYLE["province_label"], anchor="middle",
                      weight="bold")
            )  # fmt: skip

    out.append("</g>")
    out.append(svg.scale_bar(project, width, height))
    out.append(svg.north_arrow(width))
    out.append(
        f'<rect x="{width - 286}" y="{height - 16}" width="286" height="16" fill="#ffffff" '
        f'fill-opacity="0.8"/>'
        + svg.halo_text(width - 5, height - 4.5, ATTRIBUTION, size=9, fill="#555555", anchor="end",
                halo=False)
    )  # fmt: skip
    out.append(
        f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" fill="none" '
        f'stroke="{svg.STYLE["frame"]}" stroke-width="1"/>'
    )
    out.append("</svg>")
    return "".join(out)

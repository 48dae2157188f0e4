"""Small server-side maps as SVG: the mission's base layers with the caller's features on top.

No tiles and no network: the map is drawn from our own reference geography (provinces, the
border, settlements), so it renders offline, in a PDF or an e-mail, exactly the same every time.

`features` (what a map is made of, the box and its projection), `svg` (drawing primitives,
the house style), `render` (one map: the base layers, then the caller's features).

    svg = render_map_svg(
        layers=[
            MapLine(coords=[(45.67, 39.84), (45.80, 39.90)], colour="#0b4f9c"),
            MapPoint(lon=45.67, lat=39.84, label="Jermuk", number=1),
        ]
    )
"""

from core.maps.features import BBox, Feature, MapLine, MapPoint, MapPolygon
from core.maps.render import render_map_svg

__all__ = ["BBox", "Feature", "MapLine", "MapPoint", "MapPolygon", "render_map_svg"]

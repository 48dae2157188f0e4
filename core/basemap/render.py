"""Drawing a raster base layer (PNG tiles in an MBTiles file) from the mission's own layers.

The same house style as the server-drawn SVG maps (core.maps.svg): Armenia's provinces on a
neutral grey, the sectors tinted, the border in red, settlements and forward bases with their
names. Nothing is fetched: the geography is the one `load_geography` loaded, the font is
DejaVu Sans (fonts-dejavu-core, installed by bin/setup).

Deterministic: the features are read in a fixed order, labels are placed once per zoom in
world pixels (so a name crossing a tile edge is drawn the same on both sides of it), and
Pillow's PNGs carry no time. The same geography and arguments give the same tiles, byte for
byte. Tiles are drawn four by four (a "metatile") at twice their size and reduced, which
smooths the edges Pillow's drawing leaves jagged.
"""

import functools
import io
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from core.basemap.tiles import TILE_SIZE, tile_count, tile_range, tms_row, world_pixel
from core.maps.render import ATTRIBUTION
from core.maps.svg import STYLE

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
META = 4  # tiles per metatile side
SS = 2  # supersampling factor
BASE_COLOUR = "#123a73"  # the forward bases' colour on the interactive maps (mission-layers.js)
SETTLEMENT_ZOOM = 8  # settlements (dots and names) from this zoom on
LABEL_ZOOM = 7  # province and forward base names from this zoom on
DEFAULT_PADDING_DEGREES = 0.15


class BasemapTooLarge(ValueError):
    pass


@dataclass(frozen=True)
class Scene:
    """What is drawn, read once: rings as (lon, lat) lists, in a fixed order."""

    provinces: list  # (name, is_sector, [ring, ...], label (lon, lat))
    border: list  # (is_international, [line, ...])
    settlements: list  # (name, lon, lat, population)
    bases: list  # (name, lon, lat)

    def places(self):
        """The settlements drawn as dots: a forward base's own town is its diamond."""
        bases = {name for name, _, _ in self.bases}
        return [s for s in self.settlements if s[0] not in bases]

    def extent(self):
        coords = [xy for _, _, rings, _ in self.provinces for ring in rings for xy in ring]
        if not coords:
            return None
        lons, lats = [c[0] for c in coords], [c[1] for c in coords]
        return (min(lons), min(lats), max(lons), max(lats))


def load_scene() -> Scene:
    from core.models import ForwardBase
    from core.selectors import map_base_layers

    provinces, border, settlements = map_base_layers()
    # Largest first, so that a province inside another's outline is drawn over it.
    provinces = sorted(provinces, key=lambda p: (-p.geom.area, p.name))
    bases = ForwardBase.objects.order_by("name").only("name", "location")
    population = {s.name: s.population or 0 for s in settlements}
    return Scene(
        provinces=[
            (
                p.name,
                p.is_sector,
                [list(poly[0].coords) for poly in p.geom],
                p.geom.point_on_surface.coords,
            )
            for p in provinces
        ],
        border=[
            (b.is_international, [list(line.coords) for line in b.geom])
            for b in sorted(border, key=lambda b: (not b.is_international, b.pk))
        ],
        settlements=sorted(
            ((s.name, *s.location.coords[:2], population[s.name]) for s in settlements),
            key=lambda s: s[0],
        ),
        bases=[(b.name, *b.location.coords[:2]) for b in bases],
    )


def default_bounds(scene: Scene):
    extent = scene.extent() or (43.4, 38.8, 46.7, 41.35)
    pad = DEFAULT_PADDING_DEGREES
    return (extent[0] - pad, extent[1] - pad, extent[2] + pad, extent[3] + pad)


@functools.cache
def _font(bold: bool, size: int):
    path = FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: install fonts-dejavu-core (bin/setup does) to draw names."
        )
    return ImageFont.truetype(str(path), size)


@dataclass(frozen=True)
class Label:
    x: float  # world pixels at the label's zoom: the text's left end, on its baseline
    y: float
    text: str
    bold: bool
    size: int
    fill: str


class _Labels:
    """Greedy placement in world pixels: a label overlapping one already placed is left out."""

    def __init__(self):
        self.boxes, self.placed = [], []

    def reserve(self, x0, y0, x1, y1):
        self.boxes.append((x0, y0, x1, y1))

    def place(self, label: Label, anchor_middle=False) -> bool:
        left, top, right, bottom = _font(label.bold, label.size).getbbox(label.text, anchor="ls")
        x = label.x - (right - left) / 2 if anchor_middle else label.x
        box = (x + left - 2, label.y + top - 2, x + right + 2, label.y + bottom + 2)
        if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3]
               for b in self.boxes):  # fmt: skip
            return False
        self.boxes.append(box)
        self.placed.append(Label(x, label.y, label.text, label.bold, label.size, label.fill))
        return True


def _labels(scene: Scene, zoom: int) -> list[Label]:
    """The names drawn at `zoom`: forward bases first, then settlements by population, then
    provinces where room is left."""
    labels = _Labels()
    if zoom < LABEL_ZOOM:
        return []
    for _, lon, lat in scene.bases:
        x, y = world_pixel(lon, lat, zoom)
        labels.reserve(x - 7, y - 7, x + 7, y + 7)
    settlements = scene.places() if zoom >= SETTLEMENT_ZOOM else []
    for _, lon, lat, _ in settlements:
        x, y = world_pixel(lon, lat, zoom)
        labels.reserve(x - 3, y - 3, x + 3, y + 3)
    for name, lon, lat in scene.bases:
        x, y = world_pixel(lon, lat, zoom)
        labels.place(Label(x + 11, y + 4, name, True, 12, BASE_COLOUR))
    if settlements:
        for name, lon, lat, _ in sorted(settlements, key=lambda s: (-s[3], s[0])):
            x, y = world_pixel(lon, lat, zoom)
            colour = STYLE["settlement_label"]
            if not labels.place(Label(x + 5, y + 4, name, False, 11, colour)):
                width = _font(False, 11).getlength(name)
                labels.place(Label(x - 5 - width, y + 4, name, False, 11, colour))
    for name, _, _, (lon, lat) in scene.provinces:
        x, y = world_pixel(lon, lat, zoom)
        label = Label(x, y, name.upper(), True, 10, STYLE["province_label"])
        labels.place(label, anchor_middle=True)
    return labels.placed


def _draw_metatile(scene, zoom, labels, mx, my, nx, ny):
    """An image of nx × ny tiles whose top-left tile is (mx, my), at SS times the size."""
    ox, oy = mx * TILE_SIZE, my * TILE_SIZE

    def px(lon, lat):
        x, y = world_pixel(lon, lat, zoom)
        return ((x - ox) * SS, (y - oy) * SS)

    image = Image.new("RGB", (nx * TILE_SIZE * SS, ny * TILE_SIZE * SS), STYLE["background"])
    draw = ImageDraw.Draw(image)
    for _, is_sector, rings, _ in scene.provinces:
        fill = STYLE["sector_fill"] if is_sector else STYLE["province_fill"]
        for ring in rings:
            draw.polygon([px(*xy) for xy in ring], fill=fill)
    for _, _, rings, _ in scene.provinces:
        for ring in rings:
            points = [px(*xy) for xy in ring]
            draw.line(points + points[:1], fill=STYLE["province_stroke"], width=SS)
    wide = 3 if zoom >= 10 else 2
    for is_international, lines in scene.border:
        for line in lines:
            width = wide * SS if is_international else SS
            draw.line([px(*xy) for xy in line], fill=STYLE["border"], width=width, joint="curve")
    if zoom >= SETTLEMENT_ZOOM:
        r = 3 * SS
        for _, lon, lat, _ in scene.places():
            x, y = px(lon, lat)
            draw.ellipse((x - r, y - r, x + r, y + r), fill=STYLE["settlement"],
                         outline=STYLE["halo"], width=SS)  # fmt: skip
    r = 6 * SS
    for _, lon, lat in scene.bases:
        x, y = px(lon, lat)
        diamond = [(x, y - r), (x + r, y), (x, y + r), (x - r, y)]
        draw.polygon(diamond, fill=BASE_COLOUR, outline=STYLE["halo"], width=SS)
    for label in labels:
        x, y = (label.x - ox) * SS, (label.y - oy) * SS
        if x > image.width or y < -40 * SS or y > image.height + 40 * SS:
            continue
        draw.text((x, y), label.text, font=_font(label.bold, label.size * SS), fill=label.fill,
                  anchor="ls", stroke_width=2 * SS, stroke_fill=STYLE["halo"])  # fmt: skip
    return image.resize((nx * TILE_SIZE, ny * TILE_SIZE), Image.Resampling.LANCZOS)


def _png(tile: Image.Image) -> bytes:
    # A palette of at most 64 colours: the fills are flat, only the names' edges need more.
    # Median cut without dithering is deterministic.
    out = io.BytesIO()
    tile.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        out, format="PNG", optimize=True
    )
    return out.getvalue()


def render_tiles(scene, bounds, minzoom, maxzoom):
    """(zoom, x, y, png bytes) for every XYZ tile covering `bounds`, in a fixed order."""
    for zoom in range(minzoom, maxzoom + 1):
        labels = _labels(scene, zoom)
        x0, y0, x1, y1 = tile_range(bounds, zoom)
        for my in range(y0, y1 + 1, META):
            for mx in range(x0, x1 + 1, META):
                nx, ny = min(META, x1 - mx + 1), min(META, y1 - my + 1)
                image = _draw_metatile(scene, zoom, labels, mx, my, nx, ny)
                for dx in range(nx):
                    for dy in range(ny):
                        box = (dx * TILE_SIZE, dy * TILE_SIZE,
                               (dx + 1) * TILE_SIZE, (dy + 1) * TILE_SIZE)  # fmt: skip
                        yield zoom, mx + dx, my + dy, _png(image.crop(box))


SCHEMA = """
CREATE TABLE metadata (name TEXT NOT NULL, value TEXT);
CREATE UNIQUE INDEX metadata_name ON metadata (name);
CREATE TABLE tiles (zoom_level INTEGER NOT NULL, tile_column INTEGER NOT NULL,
                    tile_row INTEGER NOT NULL, tile_data BLOB NOT NULL);
CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);
"""


def make_basemap(out: Path, *, bounds=None, minzoom=6, maxzoom=12, max_tiles=20000,
                 progress=None) -> dict:  # fmt: skip
    """Write an MBTiles 1.3 file of PNG tiles at `out` (replaced whole, never half-written).

    Preconditions: the geography is loaded. Refuses (BasemapTooLarge) more than `max_tiles`
    tiles before drawing any. Returns the figures: tiles, bytes, bounds, zooms.
    """
    scene = load_scene()
    bounds = tuple(bounds) if bounds else default_bounds(scene)
    total = tile_count(bounds, minzoom, maxzoom)
    if total > max_tiles:
        raise BasemapTooLarge(
            f"{total:,} tiles for zooms {minzoom}–{maxzoom} over {bounds}: more than the "
            f"limit of {max_tiles:,}. Lower --maxzoom, narrow --bounds or raise --max-tiles."
        )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    written = size = 0
    try:
        db = sqlite3.connect(partial)
        try:
            db.executescript(SCHEMA)
            west, south, east, north = bounds
            metadata = {
                "name": "missionapp base layer",
                "format": "png",
                "type": "baselayer",
                "version": "1",
                "description": "Drawn by manage.py make_basemap from the mission's geography: "
                "provinces, the border, settlements and forward bases.",
                "attribution": ATTRIBUTION,
                "bounds": f"{west:.5f},{south:.5f},{east:.5f},{north:.5f}",
                "center": f"{(west + east) / 2:.5f},{(south + north) / 2:.5f},{minzoom + 2}",
                "minzoom": str(minzoom),
                "maxzoom": str(maxzoom),
            }
            db.executemany("INSERT INTO metadata VALUES (?, ?)", sorted(metadata.items()))
            for zoom, x, y, data in render_tiles(scene, bounds, minzoom, maxzoom):
                db.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)",
                           (zoom, x, tms_row(zoom, y), data))  # fmt: skip
                written += 1
                size += len(data)
                if progress:
                    progress(written, total)
            db.commit()
        finally:
            db.close()
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return {"tiles": written, "tile_bytes": size, "file_bytes": out.stat().st_size,
            "bounds": bounds, "minzoom": minzoom, "maxzoom": maxzoom}  # fmt: skip

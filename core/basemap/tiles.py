"""Web Mercator tile arithmetic (the XYZ scheme Leaflet asks for; MBTiles stores rows in TMS
order, counted from the south: row = 2**z - 1 - y)."""

import math

TILE_SIZE = 256
MAX_LATITUDE = 85.0511287798


def world_pixel(lon: float, lat: float, zoom: int) -> tuple[float, float]:
    """(lon, lat) in degrees → pixels from the world's top-left corner at `zoom`."""
    lat = max(-MAX_LATITUDE, min(MAX_LATITUDE, lat))
    size = TILE_SIZE * 2**zoom
    x = (lon + 180.0) / 360.0 * size
    s = math.sin(math.radians(lat))
    y = (0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)) * size
    return x, y


def tile_range(bounds, zoom: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), inclusive, of the XYZ tiles covering `bounds` (west, south, east,
    north) at `zoom`."""
    west, south, east, north = bounds
    last = 2**zoom - 1
    x0, y0 = world_pixel(west, north, zoom)
    x1, y1 = world_pixel(east, south, zoom)
    clamp = lambda v: max(0, min(last, int(v // TILE_SIZE)))  # noqa: E731
    return clamp(x0), clamp(y0), clamp(x1), clamp(y1)


def tile_count(bounds, minzoom: int, maxzoom: int) -> int:
    total = 0
    for zoom in range(minzoom, maxzoom + 1):
        x0, y0, x1, y1 = tile_range(bounds, zoom)
        total += (x1 - x0 + 1) * (y1 - y0 + 1)
    return total


def tms_row(zoom: int, y: int) -> int:
    """The MBTiles row of XYZ tile row `y` (and back: the flip is its own inverse)."""
    return 2**zoom - 1 - y


def intersect(a, b):
    """The overlap of two (west, south, east, north) boxes, or None."""
    box = (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
    return box if box[0] < box[2] and box[1] < box[3] else None

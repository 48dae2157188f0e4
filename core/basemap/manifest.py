"""What the loaded base layer holds for each sector, and what a tablet stores for offline use.

A sector's tiles are those covering its province's bounding box (within the layer's bounds),
zoom by zoom. A tablet stores its own sector's (the monitor's forward base's province; every
sector for a role without a base), whole zoom levels from the lowest, while they fit in
BASEMAP_PRECACHE_MAX_MB (and, for every sector, BASEMAP_PRECACHE_MAX_TILES): the low zooms
to find one's way, as many close ones as the budget allows. Worked out once per layer
version and process (a few dozen indexed counts on the file), then read from memory.
"""

from django.conf import settings

from core.basemap.tiles import intersect, tile_range
from core.models import ForwardBase
from core.selectors import geography_in_memory


def sector_tiles(basemap) -> list[dict]:
    """Per sector (by name): each zoom's XYZ range, tiles and bytes, and the totals."""
    provinces = geography_in_memory.get()[1]
    key = ("sectors", tuple((p.name, extent) for p, _, extent in provinces if p.is_sector))
    cached = basemap.manifests.get(key)
    if cached is not None:
        return cached
    info = basemap.info
    sectors = []
    for name, extent in key[1]:
        box = intersect(extent, info.bounds)
        zooms = []
        for zoom in range(info.minzoom, info.maxzoom + 1) if box else ():
            x0, y0, x1, y1 = tile_range(box, zoom)
            tiles, size = basemap.count(zoom, x0, x1, y0, y1)
            zooms.append({"zoom": zoom, "x": [x0, x1], "y": [y0, y1], "tiles": tiles,
                          "bytes": size})  # fmt: skip
        sectors.append({
            "name": name, "zooms": zooms, "tiles": sum(z["tiles"] for z in zooms),
            "bytes": sum(z["bytes"] for z in zooms),
        })  # fmt: skip
    basemap.manifests[key] = sectors
    return sectors


def sectors_of(user) -> list[str] | None:
    """The sector names whose tiles `user`'s tablet stores; None: every sector."""
    if not user.forward_base_id:
        return None
    return list(
        ForwardBase.objects.filter(pk=user.forward_base_id).values_list("province__name", flat=True)
    )


def precache_plan(basemap, user) -> dict:
    """The tiles `user`'s tablet stores: whole zooms, lowest first, within the budget."""
    wanted = sectors_of(user)
    sectors = [s for s in sector_tiles(basemap) if wanted is None or s["name"] in wanted]
    max_bytes = int(settings.BASEMAP_PRECACHE_MAX_MB * 1024 * 1024)
    max_tiles = settings.BASEMAP_PRECACHE_MAX_TILES if wanted is None else None
    ranges, zooms, tiles, size = [], [], 0, 0
    info = basemap.info
    for zoom in range(info.minzoom, info.maxzoom + 1):
        level = [z for s in sectors for z in s["zooms"] if z["zoom"] == zoom]
        # Sectors' boxes can overlap (neighbours share an edge): counted once each here, so
        # the budget errs on the safe side; the tablet fetches a shared tile once.
        level_tiles = sum(z["tiles"] for z in level)
        level_bytes = sum(z["bytes"] for z in level)
        if size + level_bytes > max_bytes or (max_tiles and tiles + level_tiles > max_tiles):
            break
        zooms.append(zoom)
        tiles += level_tiles
        size += level_bytes
        ranges += [{"zoom": zoom, "x": z["x"], "y": z["y"]} for z in level if z["tiles"]]
    return {
        "sectors": [s["name"] for s in sectors],
        "zooms": zooms,
        "tiles": tiles,
        "bytes": size,
        "max_bytes": max_bytes,
        "whole_layer": bool(zooms) and zooms[-1] == info.maxzoom,
        "ranges": ranges,
    }

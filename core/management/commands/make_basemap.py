"""Draw the mission's own base layer: a raster MBTiles file (PNG tiles) of the mission area,
from the geography `load_geography` loaded. Nothing is fetched; the same geography and
arguments give the same tiles. Load it with `manage.py load_basemap OUT`."""

import math
import time

from django.core.management.base import BaseCommand, CommandError

from core.basemap.render import BasemapTooLarge, make_basemap
from core.models import Province


def _bounds(text):
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError:
        raise CommandError(f"--bounds {text!r}: give west,south,east,north in degrees") from None
    if not all(math.isfinite(v) for v in (west, south, east, north)) or not (
        -180 <= west < east <= 180 and -85 <= south < north <= 85
    ):
        raise CommandError(f"--bounds {text!r}: west < east within ±180, south < north within ±85")
    return west, south, east, north


class Command(BaseCommand):
    help = "Render a raster MBTiles base layer of the mission area from its own geography."

    def add_arguments(self, parser):
        parser.add_argument("out", help="the .mbtiles file to write (replaced whole)")
        parser.add_argument("--minzoom", type=int, default=6)
        parser.add_argument("--maxzoom", type=int, default=12)
        parser.add_argument("--bounds", help="west,south,east,north (default: Armenia, padded)")
        parser.add_argument("--max-tiles", type=int, default=20000,
                            help="refuse to draw more tiles than this (default 20000)")  # fmt: skip

    def handle(self, *args, out, minzoom, maxzoom, bounds, max_tiles, **options):
        if not 0 <= minzoom <= maxzoom <= 18:
            raise CommandError("Zooms: 0 <= --minzoom <= --maxzoom <= 18.")
        if not Province.objects.exists():
            raise CommandError("No geography to draw: run `manage.py load_geography` first.")
        started = time.monotonic()
        verbose = options["verbosity"] > 1

        def progress(done, total):
            if verbose and (done % 200 == 0 or done == total):
                self.stdout.write(f"  {done:,} of {total:,} tiles")

        try:
            made = make_basemap(
                out, bounds=_bounds(bounds) if bounds else None, minzoom=minzoom,
                maxzoom=maxzoom, max_tiles=max_tiles, progress=progress,
            )  # fmt: skip
        except (BasemapTooLarge, FileNotFoundError) as refused:
            raise CommandError(str(refused)) from None
        if options["verbosity"] < 1:
            return
        self.stdout.write(self.style.SUCCESS(
            f"Base layer written to {out}: {made['tiles']:,} tiles, zooms {minzoom}–{maxzoom}, "
            f"{made['file_bytes'] / 1e6:.1f} MB, in {time.monotonic() - started:.1f} s."
        ))  # fmt: skip

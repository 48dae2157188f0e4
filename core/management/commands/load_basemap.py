"""Make an MBTiles file the maps' base layer: checked (SQLite, metadata name, format, bounds,
minzoom, maxzoom; raster png/jpg/webp; a vector pbf file is refused, saying why), then copied
to BASEMAP_MBTILES in one rename, so that a running web process goes from the old layer to the
new one between two requests. Logged to `missionapp.basemap`.

python manage.py load_basemap mission-area.mbtiles
"""

import getpass
import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.basemap.mbtiles import BasemapInvalid, install

log = logging.getLogger("missionapp.basemap")


class Command(BaseCommand):
    help = "Check an MBTiles file (raster) and make it the base layer the app serves."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .mbtiles file (png, jpg or webp tiles)")

    def handle(self, *args, file, **options):
        target = settings.BASEMAP_MBTILES
        try:
            info = install(file, target)
        except BasemapInvalid as refused:
            log.warning("load_basemap refused %s: %s", file, refused)
            raise CommandError(f"{file} cannot be the base layer: {refused}") from None
        log.warning(
            "base layer %s (version %s, %s tiles, zooms %s-%s) loaded from %s by %s",
            target, info.version, info.tiles, info.minzoom, info.maxzoom, file,
            _who(),
        )  # fmt: skip
        if options["verbosity"] > 0:
            self.stdout.write(self.style.SUCCESS(
                f"Base layer loaded: {info.name!r}, {info.format}, zooms {info.minzoom}–"
                f"{info.maxzoom}, {info.tiles:,} tiles ({info.tile_bytes / 1e6:.1f} MB), version "
                f"{info.version}, served from {target}."
            ))  # fmt: skip


def _who():
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "an unknown user"

"""The base layer the mission supplies: a raster MBTiles file served by the app itself.

`tiles` (Web Mercator tile arithmetic), `render` (drawing one from the mission's own layers
with Pillow: `manage.py make_basemap`), `mbtiles` (checking a file, installing it atomically:
`manage.py load_basemap`, and reading it read-only per thread), `views` (the tiles and the
JSON that describes the loaded layer, with each sector's share for the tablets' offline copy).
"""

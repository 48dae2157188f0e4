"""Base layer fixtures: a small MBTiles file drawn once per test session from the reference
geography (zooms 6–8, about twenty tiles: a second or two), and `basemap`, which makes it the
layer the app serves for one test. Nothing is downloaded. Registered by the root conftest."""

import sqlite3

import pytest

SESSION_ZOOMS = (6, 8)


@pytest.fixture(scope="session")
def basemap_file(django_db_setup, django_db_blocker, tmp_path_factory):
    from core.basemap.render import make_basemap

    path = tmp_path_factory.mktemp("basemap") / "mission.mbtiles"
    with django_db_blocker.unblock():
        make_basemap(path, minzoom=SESSION_ZOOMS[0], maxzoom=SESSION_ZOOMS[1])
    return path


@pytest.fixture
def basemap(basemap_file, settings, geography):
    """The session's base layer, served for this test (read only: never written to)."""
    from core.basemap.mbtiles import loaded

    settings.BASEMAP_MBTILES = basemap_file
    return loaded()


def write_mbtiles(path, *, metadata, tiles=(), tables=("metadata", "tiles")):
    """An MBTiles-like file made by hand: `metadata` {name: value}, `tiles` [(z, col, row,
    bytes)] (rows as stored: TMS), and only the `tables` named."""
    db = sqlite3.connect(path)
    if "metadata" in tables:
        db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        db.executemany("INSERT INTO metadata VALUES (?, ?)", list(metadata.items()))
    if "tiles" in tables:
        db.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, "
                   "tile_row INTEGER, tile_data BLOB)")  # fmt: skip
        db.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)", list(tiles))
    db.commit()
    db.close()
    return path

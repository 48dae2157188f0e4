"""`make_basemap` draws a raster MBTiles of the mission area from its own layers;
`load_basemap` checks a file and makes it the base layer, refusing what cannot be one."""

import hashlib
import io
import logging
import sqlite3

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from core.basemap.mbtiles import loaded
from core.basemap.render import BASE_COLOUR
from core.basemap.tiles import TILE_SIZE, tile_count, world_pixel
from core.models import ForwardBase
from tests.basemap import SESSION_ZOOMS, write_mbtiles

pytestmark = pytest.mark.django_db


def _png(colour=(200, 10, 10), fmt="PNG"):
    out = io.BytesIO()
    Image.new("RGB", (TILE_SIZE, TILE_SIZE), colour).save(out, format=fmt)
    return out.getvalue()


def _metadata(**changes):
    meta = {"name": "hand made", "format": "png", "bounds": "43.4,38.8,46.7,41.4",
            "minzoom": "6", "maxzoom": "6"}  # fmt: skip
    meta.update(changes)
    return {k: v for k, v in meta.items() if v is not None}


def _read(path):
    db = sqlite3.connect(path)
    try:
        metadata = dict(db.execute("SELECT name, value FROM metadata"))
        tiles = {(z, c, r): bytes(d) for z, c, r, d in db.execute("SELECT * FROM tiles")}
    finally:
        db.close()
    return metadata, tiles


# --- make_basemap ------------------------------------------------------------------------------


def test_it_draws_png_tiles_in_tms_rows_with_the_metadata_mbtiles_asks_for(basemap_file):
    metadata, tiles = _read(basemap_file)

    assert metadata["format"] == "png" and metadata["name"]
    assert (metadata["minzoom"], metadata["maxzoom"]) == tuple(map(str, SESSION_ZOOMS))
    bounds = tuple(float(v) for v in metadata["bounds"].split(","))
    assert bounds[0] < 43.5 and bounds[2] > 46.6 and bounds[1] < 38.9 and bounds[3] > 41.2
    assert "Natural Earth" in metadata["attribution"]
    assert len(tiles) == tile_count(bounds, *SESSION_ZOOMS)
    for data in tiles.values():
        image = Image.open(io.BytesIO(data))
        assert (image.format, image.size) == ("PNG", (TILE_SIZE, TILE_SIZE))

    # Kapan's forward base is drawn in its tile, which is stored in the TMS row (from the south).
    kapan = ForwardBase.objects.get(name="Kapan").location
    x, y = world_pixel(kapan.x, kapan.y, 8)
    column, row = int(x // TILE_SIZE), int(y // TILE_SIZE)
    tile = Image.open(io.BytesIO(tiles[(8, column, 2**8 - 1 - row)])).convert("RGB")
    px, py = int(x % TILE_SIZE), int(y % TILE_SIZE)
    near = {tile.getpixel((i, j)) for i in range(max(0, px - 2), min(256, px + 3))
            for j in range(max(0, py - 2), min(256, py + 3))}  # fmt: skip
    base = tuple(int(BASE_COLOUR[i : i + 2], 16) for i in (1, 3, 5))
    assert any(sum(abs(a - b) for a, b in zip(c, base, strict=True)) < 40 for c in near), near
    # The XYZ row (not flipped) holds no such tile or another one.
    assert tiles.get((8, column, row)) != tiles[(8, column, 2**8 - 1 - row)]


def test_the_same_geography_draws_the_same_tiles(tmp_path):
    first, second = tmp_path / "a.mbtiles", tmp_path / "b.mbtiles"
    for out in (first, second):
        call_command("make_basemap", str(out), "--minzoom", "7", "--maxzoom", "8",
                     stdout=io.StringIO())  # fmt: skip

    assert _read(first) == _read(second)
    digest = [hashlib.sha256(path.read_bytes()).digest() for path in (first, second)]
    assert digest[0] == digest[1]


def test_it_refuses_to_draw_more_tiles_than_the_limit(tmp_path):
    out = tmp_path / "big.mbtiles"
    with pytest.raises(CommandError, match=r"more than the limit of 50"):
        call_command("make_basemap", str(out), "--maxzoom", "12", "--max-tiles", "50")
    assert not out.exists() and not list(tmp_path.iterdir())


def test_it_refuses_bounds_that_are_not_a_box(tmp_path):
    with pytest.raises(CommandError, match="--bounds"):
        call_command("make_basemap", str(tmp_path / "x.mbtiles"), "--bounds", "46,39,45,40")


# --- load_basemap ------------------------------------------------------------------------------


def test_it_installs_a_checked_file_in_one_rename_and_logs_it(basemap_file, settings, tmp_path,
                                                               caplog):  # fmt: skip
    settings.BASEMAP_MBTILES = tmp_path / "data" / "basemap.mbtiles"
    out = io.StringIO()
    with caplog.at_level(logging.INFO, logger="missionapp.basemap"):
        call_command("load_basemap", str(basemap_file), stdout=out)

    assert settings.BASEMAP_MBTILES.read_bytes() == basemap_file.read_bytes()
    assert [p.name for p in settings.BASEMAP_MBTILES.parent.iterdir()] == ["basemap.mbtiles"]
    served = loaded()
    assert served.info.version in out.getvalue() and served.info.format == "png"
    assert any("loaded from" in r.getMessage() and served.info.version in r.getMessage()
               for r in caplog.records)  # fmt: skip


def test_a_vector_file_is_refused_saying_why(settings, tmp_path):
    settings.BASEMAP_MBTILES = tmp_path / "basemap.mbtiles"
    vector = write_mbtiles(tmp_path / "vector.mbtiles", metadata=_metadata(format="pbf"),
                           tiles=[(6, 40, 39, b"\x1f\x8b\x08\x00gzipped-protobuf")])  # fmt: skip

    with pytest.raises(CommandError) as refused:
        call_command("load_basemap", str(vector))
    message = str(refused.value)
    assert "vector" in message and "pbf" in message and "no vector renderer" in message
    assert not settings.BASEMAP_MBTILES.exists()


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda p: p.write_text("not a database"), "not an SQLite database"),
        (lambda p: write_mbtiles(p, metadata={}, tables=("tiles",)), "no metadata table"),
        (lambda p: write_mbtiles(p, metadata=_metadata(bounds=None), tiles=[(6, 40, 39, _png())]),
         "lacks bounds"),
        (lambda p: write_mbtiles(p, metadata=_metadata(format="tiff"), tiles=[(6, 40, 39, _png())]),
         "'tiff' is not a raster format"),
        (lambda p: write_mbtiles(p, metadata=_metadata(bounds="47,38,46,41"),
                                 tiles=[(6, 40, 39, _png())]), "not a box"),
        (lambda p: write_mbtiles(p, metadata=_metadata(maxzoom="x")), "maxzoom 'x' is not a whole"),
        (lambda p: write_mbtiles(p, metadata=_metadata()), "holds no tiles"),
        (lambda p: write_mbtiles(p, metadata=_metadata(), tiles=[(6, 40, 39, _png(fmt="JPEG"))]),
         "not png images"),
        (lambda p: write_mbtiles(p, metadata=_metadata(), tiles=[(9, 40, 39, _png())]),
         "outside its minzoom"),
    ],
)  # fmt: skip
def test_a_file_that_cannot_be_the_base_layer_is_refused_and_the_loaded_one_stays(
    make, reason, basemap_file, settings, tmp_path
):
    settings.BASEMAP_MBTILES = tmp_path / "basemap.mbtiles"
    call_command("load_basemap", str(basemap_file), stdout=io.StringIO())
    before = settings.BASEMAP_MBTILES.read_bytes()
    bad = tmp_path / "bad.mbtiles"
    make(bad)

    with pytest.raises(CommandError, match=reason):
        call_command("load_basemap", str(bad))
    assert settings.BASEMAP_MBTILES.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.mbtiles", "basemap.mbtiles"]


@pytest.mark.parametrize("fmt, pillow, content_type", [
    ("jpg", "JPEG", "image/jpeg"), ("webp", "WEBP", "image/webp"),
])  # fmt: skip
def test_jpeg_and_webp_raster_files_are_accepted(fmt, pillow, content_type, settings, tmp_path):
    settings.BASEMAP_MBTILES = tmp_path / "basemap.mbtiles"
    source = write_mbtiles(tmp_path / f"raster.{fmt}.mbtiles", metadata=_metadata(format=fmt),
                           tiles=[(6, 40, 39, _png(fmt=pillow))])  # fmt: skip

    call_command("load_basemap", str(source), stdout=io.StringIO())
    assert loaded().info.content_type == content_type

"""The base layer over HTTP: tiles at /tiles/z/x/y.png (XYZ, read from the file's TMS rows)
for anyone logged in, cached privately and revalidated by ETag; and the description of the
loaded layer with each sector's tiles and the caller's tablet's offline share."""

import io
import sqlite3

import pytest
from django.core.management import call_command
from django.test import Client

from core.basemap.tiles import TILE_SIZE, tile_range, world_pixel
from core.models import DeviceToken, ForwardBase

pytestmark = pytest.mark.django_db


def _stored(path, z, column, tms_row):
    db = sqlite3.connect(path)
    try:
        row = db.execute(
            "SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
            (z, column, tms_row),
        ).fetchone()
    finally:
        db.close()
    return bytes(row[0]) if row else None


def _kapan_tile(zoom):
    kapan = ForwardBase.objects.get(name="Kapan").location
    x, y = world_pixel(kapan.x, kapan.y, zoom)
    return int(x // TILE_SIZE), int(y // TILE_SIZE)


@pytest.fixture
def monitor_client(users):
    client = Client()
    client.force_login(users["monitor"])
    return client


def test_a_tile_is_read_from_its_tms_row_and_cached_privately_for_a_year(basemap, monitor_client):
    x, y = _kapan_tile(8)
    version = basemap.info.version

    response = monitor_client.get(f"/tiles/8/{x}/{y}.png?v={version}")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response.content == _stored(basemap.info.path, 8, x, 2**8 - 1 - y)
    assert response.content != _stored(basemap.info.path, 8, x, y)
    assert response["Cache-Control"] == "private, max-age=31536000, immutable"
    assert response["ETag"] == f'"{version}-8-{x}-{y}"'


def test_a_tile_asked_without_the_current_version_must_be_revalidated(basemap, monitor_client):
    x, y = _kapan_tile(7)
    stale = monitor_client.get(f"/tiles/7/{x}/{y}.png?v=0000000000000000")
    assert stale.status_code == 200 and stale["Cache-Control"] == "private, no-cache"

    again = monitor_client.get(f"/tiles/7/{x}/{y}.png", HTTP_IF_NONE_MATCH=stale["ETag"])
    assert again.status_code == 304 and again.content == b""
    other = monitor_client.get(f"/tiles/7/{x}/{y}.png", HTTP_IF_NONE_MATCH='"other"')
    assert other.status_code == 200


@pytest.mark.parametrize("path", [
    "/tiles/8/0/0.png",  # in the world, not in the layer
    "/tiles/9/1/1.png",  # above its maxzoom
    "/tiles/5/1/1.png",  # below its minzoom
    "/tiles/8/999/1.png",  # not a tile at zoom 8
    "/tiles/8/{x}/{y}.jpg",  # not the layer's format
])  # fmt: skip
def test_a_tile_the_layer_does_not_have_is_a_404_in_the_api_error_format(
    path, basemap, monitor_client
):
    x, y = _kapan_tile(8)
    response = monitor_client.get(path.format(x=x, y=y))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found" and "no tile" in response.json()["detail"]


def test_without_a_base_layer_tiles_are_404_and_the_description_says_none(monitor_client):
    assert monitor_client.get("/tiles/8/160/97.png").status_code == 404
    described = monitor_client.get("/api/geography/basemap/").json()
    assert described["available"] is False and "load_basemap" in described["detail"]
    assert described["tile_url"] is None and described["sectors"] == []


def test_tiles_need_a_login_like_the_geography_api(basemap, users):
    x, y = _kapan_tile(8)
    anonymous = Client()
    assert anonymous.get(f"/tiles/8/{x}/{y}.png").status_code == 401
    assert anonymous.get("/api/geography/basemap/").status_code == 401
    assert anonymous.get("/api/geography/provinces/").status_code == 401

    _, secret = DeviceToken.objects.create(user=users["monitor"], device_name="Tablet")
    with_token = Client(HTTP_AUTHORIZATION=f"Token {secret}")
    assert with_token.get(f"/tiles/8/{x}/{y}.png").status_code == 200
    forged = Client(HTTP_AUTHORIZATION="Token " + "0" * 64)
    assert forged.get(f"/tiles/8/{x}/{y}.png").status_code == 401


def test_a_tile_costs_the_session_and_user_queries_only(basemap, monitor_client,
                                                       django_assert_num_queries):  # fmt: skip
    x, y = _kapan_tile(8)
    monitor_client.get(f"/tiles/8/{x}/{y}.png")  # the layer opened, the connection made
    with django_assert_num_queries(2):  # the session, the user
        assert monitor_client.get(f"/tiles/8/{x}/{y}.png").status_code == 200
    with django_assert_num_queries(2):
        assert monitor_client.get(f"/tiles/8/{x + 1}/{y}.png").status_code in (200, 404)


def test_the_description_tells_each_sectors_tiles_and_the_monitors_share(
    basemap, monitor_client, users, django_assert_max_num_queries
):
    monitor_client.get("/api/geography/basemap/")
    with django_assert_max_num_queries(3):  # the session, the user, the monitor's sector
        described = monitor_client.get("/api/geography/basemap/").json()

    info = basemap.info
    assert described["available"] is True and described["format"] == "png"
    assert described["tile_url"] == f"/tiles/{{z}}/{{x}}/{{y}}.png?v={info.version}"
    assert (described["minzoom"], described["maxzoom"]) == (6, 8)
    assert described["tiles"] == info.tiles and described["bytes"] == info.tile_bytes
    sectors = {s["name"]: s for s in described["sectors"]}
    assert set(sectors) == {"Ararat", "Gegharkunik", "Syunik", "Tavush", "Vayots Dzor"}
    syunik = sectors["Syunik"]
    # Counted from the file: every tile of the province's box at each zoom.
    db = sqlite3.connect(info.path)
    for level in syunik["zooms"]:
        z = level["zoom"]
        (x0, x1), (y0, y1) = level["x"], level["y"]
        rows = db.execute(
            "SELECT count(*), sum(length(tile_data)) FROM tiles WHERE zoom_level=? AND "
            "tile_column BETWEEN ? AND ? AND tile_row BETWEEN ? AND ?",
            (z, x0, x1, 2**z - 1 - y1, 2**z - 1 - y0),
        ).fetchone()
        assert (level["tiles"], level["bytes"]) == rows
        assert _kapan_tile(z)[0] in range(x0, x1 + 1) and _kapan_tile(z)[1] in range(y0, y1 + 1)
    db.close()
    assert syunik["tiles"] == sum(z["tiles"] for z in syunik["zooms"])

    plan = described["precache"]
    assert users["monitor"].forward_base.province.name == "Syunik"
    assert plan["sectors"] == ["Syunik"] and plan["zooms"] == [6, 7, 8]
    assert plan["tiles"] == syunik["tiles"] and plan["whole_layer"] is True


def test_staff_without_a_base_store_every_sector_and_the_size_limit_drops_close_zooms(
    basemap, users, settings
):
    from core.tests.factories import UserFactory

    client = Client()
    client.force_login(UserFactory(username="t-hq", roles=["headquarters"], forward_base=None))
    plan = client.get("/api/geography/basemap/").json()["precache"]
    assert len(plan["sectors"]) == 5 and plan["zooms"] == [6, 7, 8]

    sectors = {s["name"]: s for s in client.get("/api/geography/basemap/").json()["sectors"]}
    low = sum(z["bytes"] for s in sectors.values() for z in s["zooms"] if z["zoom"] < 8)
    settings.BASEMAP_PRECACHE_MAX_MB = (low + 1) / 1024 / 1024
    plan = client.get("/api/geography/basemap/").json()["precache"]
    assert plan["zooms"] == [6, 7] and plan["bytes"] == low and plan["whole_layer"] is False
    assert {r["zoom"] for r in plan["ranges"]} == {6, 7}


def test_a_layer_loaded_while_the_app_runs_is_served_at_the_next_request(
    basemap_file, monitor_client, settings, tmp_path
):
    settings.BASEMAP_MBTILES = tmp_path / "basemap.mbtiles"
    call_command("load_basemap", str(basemap_file), stdout=io.StringIO())
    first = monitor_client.get("/api/geography/basemap/").json()
    smaller = tmp_path / "smaller.mbtiles"
    call_command("make_basemap", str(smaller), "--minzoom", "6", "--maxzoom", "7",
                 stdout=io.StringIO())  # fmt: skip

    call_command("load_basemap", str(smaller), stdout=io.StringIO())
    second = monitor_client.get("/api/geography/basemap/").json()
    assert second["version"] != first["version"] and second["maxzoom"] == 7
    x, y = tile_range(second["bounds"], 8)[:2]
    assert monitor_client.get(f"/tiles/8/{x}/{y}.png").status_code == 404

"""MBTiles files: checking one (`inspect`), putting it in place atomically (`install`), and
reading the one BASEMAP_MBTILES names, read-only, one SQLite connection per thread
(`loaded`).

An MBTiles file (spec 1.3) is an SQLite database with a `metadata` table (name, value) and a
`tiles` table (or view) of zoom_level, tile_column, tile_row (TMS: counted from the south) and
tile_data. The app serves raster tiles only (png, jpg, webp): a browser draws them as images.
A vector file (pbf) would need a vector renderer in every map and on every tablet, and none
ships with the app, so it is refused with that reason rather than served as tiles nobody can
draw.
"""

import dataclasses
import hashlib
import logging
import math
import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from django.conf import settings

log = logging.getLogger("missionapp.basemap")

CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}
ALIASES = {"jpeg": "jpg"}
REQUIRED = ("name", "format", "bounds", "minzoom", "maxzoom")
SQLITE_HEADER = b"SQLite format 3\x00"
VECTOR_REFUSED = (
    "it is a vector MBTiles file (format pbf): its tiles are drawing instructions, not "
    "images, and the app ships no vector renderer for the maps or the tablets. Render it to "
    "raster tiles (png, jpg or webp) first, or draw one from the mission's geography with "
    "`manage.py make_basemap OUT.mbtiles`."
)


class BasemapInvalid(ValueError):
    """The file cannot be the base layer; the message says why."""


@dataclass(frozen=True)
class BasemapInfo:
    path: str
    name: str
    format: str
    bounds: tuple[float, float, float, float]
    minzoom: int
    maxzoom: int
    attribution: str
    description: str
    tiles: int
    tile_bytes: int
    version: str  # the file's SHA-256, first 16 digits: changes whenever the layer does

    @property
    def content_type(self):
        return CONTENT_TYPES[self.format]


def _connect(path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, check_same_thread=False)


def _file_digest(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _bounds(value):
    try:
        west, south, east, north = (float(v) for v in value.split(","))
    except (AttributeError, ValueError):
        raise BasemapInvalid(f"its bounds {value!r} are not west,south,east,north") from None
    if not all(math.isfinite(v) for v in (west, south, east, north)) or not (
        -180 <= west < east <= 180 and -90 <= south < north <= 90
    ):
        raise BasemapInvalid(f"its bounds {value!r} are not a box on the Earth")
    return west, south, east, north


def _zoom(metadata, name):
    try:
        zoom = int(metadata[name])
    except (TypeError, ValueError):
        raise BasemapInvalid(f"its {name} {metadata[name]!r} is not a whole number") from None
    if not 0 <= zoom <= 24:
        raise BasemapInvalid(f"its {name} {zoom} is not a zoom from 0 to 24")
    return zoom


def _looks_like(fmt, data: bytes) -> bool:
    if fmt == "png":
        return data.startswith(b"\x89PNG\r\n\x1a\n")
    if fmt == "jpg":
        return data.startswith(b"\xff\xd8\xff")
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP"


def inspect(path, *, thorough=False) -> BasemapInfo:
    """What the MBTiles file at `path` holds, or BasemapInvalid saying why it cannot be the
    base layer. `thorough` also checks the database's integrity and every tile's first bytes
    (what `load_basemap` does once; the web process trusts a file it put in place)."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as error:
        raise BasemapInvalid(f"it cannot be read: {error.strerror or error}") from None
    if header != SQLITE_HEADER:
        raise BasemapInvalid("it is not an SQLite database, which every MBTiles file is")
    db = _connect(path)
    try:
        try:
            names = {row[0] for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}  # fmt: skip
            missing = [t for t in ("metadata", "tiles") if t not in names]
            if missing:
                raise BasemapInvalid(f"it has no {' and no '.join(missing)} table: not MBTiles")
            metadata = dict(db.execute("SELECT name, value FROM metadata"))
            absent = [name for name in REQUIRED if not metadata.get(name)]
            if absent:
                raise BasemapInvalid(f"its metadata lacks {', '.join(absent)}")
            fmt = str(metadata["format"]).strip().lower()
            fmt = ALIASES.get(fmt, fmt)
            if fmt == "pbf":
                raise BasemapInvalid(VECTOR_REFUSED)
            if fmt not in CONTENT_TYPES:
                raise BasemapInvalid(
                    f"its format {metadata['format']!r} is not a raster format the app serves "
                    f"(png, jpg, webp)"
                )
            bounds = _bounds(metadata["bounds"])
            minzoom, maxzoom = _zoom(metadata, "minzoom"), _zoom(metadata, "maxzoom")
            if minzoom > maxzoom:
                raise BasemapInvalid(f"its minzoom {minzoom} is above its maxzoom {maxzoom}")
            count, size, low, high = db.execute(
                "SELECT count(*), coalesce(sum(length(tile_data)), 0), min(zoom_level), "
                "max(zoom_level) FROM tiles"
            ).fetchone()
            if not count:
                raise BasemapInvalid("it holds no tiles")
            if low < minzoom or high > maxzoom:
                raise BasemapInvalid(
                    f"it holds tiles at zooms {low}–{high}, outside its minzoom–maxzoom "
                    f"{minzoom}–{maxzoom}"
                )
            sample = db.execute("SELECT tile_data FROM tiles LIMIT 1").fetchone()[0]
            if not _looks_like(fmt, bytes(sample)):
                raise BasemapInvalid(f"its tiles are not {fmt} images, as its metadata says")
            if thorough:
                problem = db.execute("PRAGMA quick_check").fetchone()[0]
                if problem != "ok":
                    raise BasemapInvalid(f"the database is damaged: {problem}")
                for (data,) in db.execute("SELECT substr(tile_data, 1, 12) FROM tiles"):
                    if not _looks_like(fmt, bytes(data)):
                        raise BasemapInvalid(f"some of its tiles are not {fmt} images")
        except sqlite3.DatabaseError as error:
            raise BasemapInvalid(f"it cannot be read as an SQLite database: {error}") from None
    finally:
        db.close()
    return BasemapInfo(
        path=str(path), name=str(metadata["name"]), format=fmt, bounds=bounds, minzoom=minzoom,
        maxzoom=maxzoom, attribution=str(metadata.get("attribution") or ""),
        description=str(metadata.get("description") or ""), tiles=count, tile_bytes=size,
        version=_file_digest(path)[:16],
    )  # fmt: skip


def install(source, target) -> BasemapInfo:
    """Check `source` thoroughly and copy it to `target`, which changes from the old file to
    the new in one rename (a web process never reads half a file). Returns what it holds."""
    inspect(source, thorough=True)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        with open(source, "rb") as src, open(partial, "wb") as dst:
            for block in iter(lambda: src.read(1 << 20), b""):
                dst.write(block)
            dst.flush()
            os.fsync(dst.fileno())
        info = inspect(partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return dataclasses.replace(info, path=str(target))


class OpenBasemap:
    """The loaded file, opened read-only: one connection per thread, made on its first tile."""

    def __init__(self, info: BasemapInfo, key):
        self.info, self.key = info, key
        self._local = threading.local()
        self.manifests = {}  # what views.py works out once per layer (sectors' tiles)

    def connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = _connect(self.info.path)
        return db

    def tile(self, zoom: int, x: int, y: int) -> bytes | None:
        """The tile at XYZ (zoom, x, y); MBTiles counts rows from the south (TMS)."""
        db = self.connection()
        row = db.execute(
            "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
            (zoom, x, 2**zoom - 1 - y),
        ).fetchone()
        return bytes(row[0]) if row else None

    def count(self, zoom, x0, x1, y0, y1) -> tuple[int, int]:
        """(tiles, bytes) held in an XYZ range (inclusive) at `zoom`."""
        last, db = 2**zoom - 1, self.connection()
        return db.execute(
            "SELECT count(*), coalesce(sum(length(tile_data)), 0) FROM tiles WHERE "
            "zoom_level = ? AND tile_column BETWEEN ? AND ? AND tile_row BETWEEN ? AND ?",
            (zoom, x0, x1, last - y1, last - y0),
        ).fetchone()


_state = {"key": None, "open": None}
_lock = threading.Lock()


def loaded() -> OpenBasemap | None:
    """The base layer BASEMAP_MBTILES names, or None when there is none (or it is unusable,
    which is logged once). A file replaced by `load_basemap` is seen at the next request: one
    stat per request, the file read again only when it changed."""
    path = str(settings.BASEMAP_MBTILES)
    try:
        stat = os.stat(path)
    except OSError:
        return None
    key = (path, stat.st_ino, stat.st_mtime_ns, stat.st_size)
    if _state["key"] == key:
        return _state["open"]
    with _lock:
        if _state["key"] != key:
            try:
                opened = OpenBasemap(inspect(path), key)
            except BasemapInvalid as invalid:
                log.error("The base layer %s is not used: %s", path, invalid)
                opened = None
            _state["open"], _state["key"] = opened, key
    return _state["open"]

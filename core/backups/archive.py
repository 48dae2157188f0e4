"""One backup archive: the database, the media files and the audit anchor file in one tar,
with a manifest of every member's size and SHA-256 and a `sha256sum` sidecar.

    missionapp-20261208T223000Z.tar          database/…, media/…, audit/anchors.jsonl, manifest
    missionapp-20261208T223000Z.tar.sha256   `sha256sum -c` checks it off the machine

The tar is not compressed: the PostgreSQL dump (custom format) is compressed already, and
photos do not compress. It is written under a hidden temporary name in the same folder and
renamed when complete, so a half-written archive never looks like a backup.
"""

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.files.storage import storages
from django.db import connections
from django.db.migrations.recorder import MigrationRecorder

from core.backups.authenticity import (
    field_key_fingerprints,
    manifest_authenticate,
    manifest_unauthentic,
)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ANCHORS_MEMBER = "audit/anchors.jsonl"
MEDIA_PREFIX = "media/"
DATABASE_MEMBERS = {"postgresql": "database/missionapp.pgdump",
                    "sqlite": "database/missionapp.sqlite3"}  # fmt: skip
# Our archives, and only these, are what the nightly retention may delete.
ARCHIVE_NAME = re.compile(r"^missionapp-(\d{8}T\d{6}Z)\.tar$")
STAMP = "%Y%m%dT%H%M%SZ"
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why, for the operator."""


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int
    seconds: float


def backup_dir() -> Path:
    return Path(settings.BACKUP_DIR)


def archive_time(path: Path) -> datetime | None:
    """When an archive of ours was made (from its name), or None for any other file."""
    match = ARCHIVE_NAME.match(path.name)
    return datetime.strptime(match[1], STAMP).replace(tzinfo=UTC) if match else None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def migration_state(alias="default") -> dict:
    """app → the last migration applied (by name: they are numbered), from django_migrations."""
    state = {}
    for app, name in MigrationRecorder(connections[alias]).applied_migrations():
        state[app] = max(state.get(app, name), name)
    return dict(sorted(state.items()))


def _skipped_media_prefixes(storage) -> list[str]:
    """Storage names not to copy: the backups themselves, when they lie inside a filesystem
    storage's folder. On another backend (S3) they are a local folder, not in the storage at
    all. (The half-received photo parts are rows, PhotoUploadPart: in the database dump.)"""
    location = getattr(storage, "location", None)
    if not location:
        return []
    root = Path(location).resolve()
    skipped = []
    for folder in (settings.BACKUP_DIR,):
        try:
            skipped.append(Path(folder).resolve().relative_to(root).as_posix().rstrip("/") + "/")
        except ValueError:
            continue  # outside the media folder
    return skipped


def media_names(storage=None) -> list[str]:
    """Every file of the media storage, walked through the storage API (listdir), so that
    the same code reads a filesystem or an S3 bucket."""
    storage = storage or storages["default"]
    skipped = _skipped_media_prefixes(storage)
    names, folders = [], [""]
    while folders:
        folder = folders.pop()
        try:
            subfolders, files = storage.listdir(folder)
        except FileNotFoundError:
            continue  # no media yet
        for sub in subfolders:
            path = f"{folder}{sub}/"
            if not any(path.startswith(prefix) for prefix in skipped):
                folders.append(path)
        names.extend(f"{folder}{name}" for name in files)
    return sorted(n for n in names if not any(n.startswith(prefix) for prefix in skipped))


class _Hashing(io.RawIOBase):
    """A file read through: counts and hashes what tarfile copies into the archive."""

    def __init__(self, source):
        self.source, self.digest, self.size = source, hashlib.sha256(), 0

    def read(self, n=-1):
        data = self.source.read(n)
        self.digest.update(data)
        self.size += len(data)
        return data


def _add(tar, name: str, source, size: int, members: dict):
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(time.time()), 0o640
    reader = _Hashing(source)
    tar.addfile(info, reader)
    if reader.size != size:
        raise BackupError(f"{name} changed size while it was copied ({size} → {reader.size})")
    members[name] = {"size": size, "sha256": reader.digest.hexdigest()}


def _add_file(tar, name: str, path: Path, members: dict):
    with open(path, "rb") as source:
        _add(tar, name, source, path.stat().st_size, members)


def _dump_postgresql(connection, target: Path):
    db = connection.settings_dict
    command = ["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
               f"--file={target}", f"--dbname={db['NAME']}"]  # fmt: skip
    command += pg_connection_arguments(db)
    run_pg(command, db, "pg_dump")


def pg_connection_arguments(db: dict) -> list[str]:
    arguments = []
    if db.get("HOST"):
        arguments.append(f"--host={db['HOST']}")
    if db.get("PORT"):
        arguments.append(f"--port={db['PORT']}")
    if db.get("USER"):
        arguments.append(f"--username={db['USER']}")
    return arguments + ["--no-password"]


def run_pg(command: list[str], db: dict, what: str):
    """Run a PostgreSQL client; the password goes in its environment, never on its command
    line (where `ps` shows it to every user of the machine)."""
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    # TLS settings of DATABASE_URL (?sslmode=require) reach the clients as libpq's variables.
    for option in ("sslmode", "sslrootcert", "sslcert", "sslkey"):
        if db.get("OPTIONS", {}).get(option):
            env[f"PG{option.upper()}"] = str(db["OPTIONS"][option])
    if not shutil.which(command[0]):
        raise BackupError(f"{what} is not installed (the PostgreSQL 15 client: postgresql-client)")
    result = subprocess.run(command, env=env, capture_output=True, text=True)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{what} failed (exit {result.returncode}): {result.stderr.strip()}")


def _dump_sqlite(connection, target: Path):
    # SQLite's online backup API on Django's own connection: a consistent copy of the file
    # while other processes go on writing (WAL), with no lock held for the whole copy.
    connection.ensure_connection()
    copy = sqlite3.connect(target)
    try:
        connection.connection.backup(copy)
    finally:
        copy.close()


def backup_make(*, output_dir: Path | None = None, now: datetime | None = None) -> Backup:
    """Write one archive into `output_dir` (BACKUP_DIR) and its `.sha256` sidecar; return it.

    Reads the database (a consistent snapshot: pg_dump or SQLite's backup API), every file
    of the media storage except the backups, and the audit anchor file if there is one.
    Changes nothing but the output folder."""
    started = time.monotonic()
    now = (now or datetime.now(UTC)).astimezone(UTC)
    folder = Path(output_dir or backup_dir())
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"missionapp-{now.strftime(STAMP)}.tar"
    if final.exists():
        raise BackupError(f"{final} exists already: one archive per second")
    connection = connections["default"]
    vendor = connection.vendor
    if vendor not in DATABASE_MEMBERS:
        raise BackupError(f"no backup for a {vendor} database (PostgreSQL or SpatiaLite only)")
    # The dump waits in the output folder (a volume with room for backups; /tmp may be small).
    with tempfile.TemporaryDirectory(prefix=".missionapp-scratch-", dir=folder) as scratch:
        dump = Path(scratch) / "database"
        (_dump_postgresql if vendor == "postgresql" else _dump_sqlite)(connection, dump)
        migrations = migration_state()
        fd, partial_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".partial", dir=folder)
        partial = Path(partial_name)
        try:
            with os.fdopen(fd, "wb") as out:
                _write_tar(out, vendor=vendor, dump=dump, now=now, migrations=migrations)
                out.flush()
                os.fsync(out.fileno())
            sidecar = folder / f"{final.name}.sha256"
            sidecar.write_text(f"{sha256_file(partial)}  {final.name}\n")
            os.replace(partial, final)
            _fsync_folder(folder)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return Backup(path=final, size=final.stat().st_size, seconds=time.monotonic() - started)


def _write_tar(out, *, vendor: str, dump: Path, now: datetime, migrations: dict):
    members = {}
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add_file(tar, DATABASE_MEMBERS[vendor], dump, members)
        dump.unlink()  # the scratch space holds one copy at a time
        storage = storages["default"]
        for name in media_names(storage):
            with storage.open(name, "rb") as source:
                _add(tar, MEDIA_PREFIX + name, source, storage.size(name), members)
        anchors = Path(settings.AUDIT_ANCHOR_FILE)
        if anchors.is_file():
            _add_file(tar, ANCHORS_MEMBER, anchors, members)
        manifest = {
            "format_version": FORMAT_VERSION,
            "created_at": now.isoformat(timespec="seconds"),
            "database_vendor": vendor,
            "migrations": migrations,
            "members": members,
            "field_encryption_keys": field_key_fingerprints(),
        }
        manifest_authenticate(manifest)
        data = json.dumps(manifest, indent=2, sort_keys=True).encode()
        _add(tar, MANIFEST, io.BytesIO(data), len(data), {})


def _fsync_folder(folder: Path):
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_manifest(tar: tarfile.TarFile, archive: Path) -> dict:
    try:
        manifest = json.load(tar.extractfile(MANIFEST))
    except KeyError:
        raise BackupError(f"{archive.name} has no {MANIFEST}: not a missionapp backup") from None
    except ValueError as exc:
        raise BackupError(f"{archive.name}: {MANIFEST} cannot be read ({exc})") from None
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"{archive.name} is format {manifest.get('format_version')!r}; this "
                          f"version reads format {FORMAT_VERSION}")  # fmt: skip
    return manifest


def archive_verify(archive: Path, *, unauthenticated: bool = False) -> dict:
    """Check the archive against its sidecar, its manifest's authentication (this
    installation's AUDIT_KEYS made it; `unauthenticated` lets an unproven one through with a
    warning) and every member against the manifest; return the manifest. BackupError names
    every member that differs (and the sidecar's and the authentication's verdicts)."""
    archive = Path(archive)
    if not archive.is_file():
        raise BackupError(f"{archive}: no such file")
    problems, unauthentic = [], None
    sidecar = archive.with_name(f"{archive.name}.sha256")
    if sidecar.is_file():
        expected = (sidecar.read_text().split(maxsplit=1) or [""])[0].lower()
        if sha256_file(archive) != expected:
            problems.append(f"the archive's SHA-256 differs from {sidecar.name}")
    try:
        with tarfile.open(archive, mode="r:") as tar:
            manifest = read_manifest(tar, archive)
            unauthentic = manifest_unauthentic(manifest)
            if unauthentic and not unauthenticated:
                problems.append(f"the archive's origin is not proven: {unauthentic}")
            listed = manifest.get("members", {})
            seen = set()
            for info in tar:
                if info.name == MANIFEST:
                    continue
                seen.add(info.name)
                if info.name not in listed:
                    problems.append(f"member {info.name} is not in the manifest")
                    continue
                digest = hashlib.sha256()
                with tar.extractfile(info) as source:
                    while chunk := source.read(CHUNK):
                        digest.update(chunk)
                if (info.size, digest.hexdigest()) != (listed[info.name]["size"],
                                                       listed[info.name]["sha256"]):  # fmt: skip
                    problems.append(f"member {info.name} differs from the manifest (SHA-256)")
            problems += [f"member {name} is missing" for name in sorted(set(listed) - seen)]
    except (tarfile.TarError, OSError, EOFError) as exc:
        problems.append(f"the archive cannot be read as a tar ({exc})")
        manifest = None
    if problems:
        verdict = ("is not authenticated by this installation's keys" if problems == [
            f"the archive's origin is not proven: {unauthentic}"] else "is damaged")  # fmt: skip
        raise BackupError(f"{archive.name} {verdict}, nothing was restored: "
                          + "; ".join(problems))  # fmt: skip
    warnings = []
    if not sidecar.is_file():
        warnings.append(f"no {sidecar.name} next to it: checked against its manifest only")
    if unauthentic:
        warnings.append(f"restored although its origin is not proven: {unauthentic}")
    if warnings:
        manifest["warning"] = "; ".join(warnings)
    return manifest


def member_path(name: str) -> PurePosixPath:
    """A member's name, refused if it would leave the folder it is restored into."""
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        raise BackupError(f"member {name} has an unsafe name")
    return path

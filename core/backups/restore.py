"""Restoring an archive (core.backups.archive) onto an empty database.

Everything that could refuse is checked before anything is written: the archive against its
sidecar and manifest, the database vendor, the migrations this code knows, an empty target
database, media files and an anchor file that would be overwritten by different ones.
"""

import hashlib
import os
import shutil
import sqlite3
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import storages
from django.db import DatabaseError, connections
from django.db.migrations.loader import MigrationLoader

from core.audit.verification import ChainReport, audit_chain_verify
from core.backups.archive import (
    ANCHORS_MEMBER,
    CHUNK,
    DATABASE_MEMBERS,
    MEDIA_PREFIX,
    BackupError,
    archive_verify,
    member_path,
    pg_connection_arguments,
    run_pg,
    sha256_file,
)
from core.backups.authenticity import field_keys_missing

VENDOR_NAMES = {"postgresql": "PostgreSQL (PostGIS)", "sqlite": "SQLite (SpatiaLite)"}


@dataclass(frozen=True)
class Restored:
    manifest: dict
    media_written: int
    media_present: int
    anchors_written: bool
    seconds: float
    chain: ChainReport


def our_tables(alias="default") -> list[str]:
    """The tables of missionapp the database holds (PostGIS's spatial_ref_sys, SpatiaLite's
    metadata and anything else that is not ours do not count)."""
    introspection = connections[alias].introspection
    ours = set(introspection.django_table_names())
    ours |= {"django_migrations", *_cache_tables()}
    return sorted(ours & set(introspection.table_names()))


def _cache_tables():
    return [cache["LOCATION"] for cache in settings.CACHES.values()
            if cache["BACKEND"].endswith("DatabaseCache")]  # fmt: skip


def database_label(alias="default") -> str:
    db = connections[alias].settings_dict
    if connections[alias].vendor == "sqlite":
        return str(db["NAME"])
    return f"{db['NAME']} on {db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}"


def _forget_the_old_machines_cache():
    """The embedded stack's cache is a table of the database, so the archive brought the old
    machine's login counters and worker heartbeats: /healthz said a worker of the old
    machine was fresh. None of it is the mission's record."""
    from django.core.cache import caches
    from django.core.cache.backends.db import DatabaseCache

    cache = caches["default"]
    if isinstance(cache, DatabaseCache):
        cache.clear()


def _check_field_keys(manifest: dict):
    missing = field_keys_missing(manifest)
    if missing:
        raise BackupError(
            f"FIELD_ENCRYPTION_KEYS lacks {missing} of the keys the archive's liaison contacts "
            "are encrypted with: their phone numbers and e-mail addresses could not be read. "
            "Set the keys of the installation that made it (.env; on the embedded stack "
            "var/field_encryption_key) and restore again (nothing was changed)"
        )


def _check_database(manifest: dict):
    connection = connections["default"]
    archived = manifest.get("database_vendor")
    if archived != connection.vendor:
        raise BackupError(
            f"the archive holds a {VENDOR_NAMES.get(archived, archived)} database and "
            f"DATABASE_URL is a {VENDOR_NAMES.get(connection.vendor, connection.vendor)} one: "
            "restore it onto the same kind of database (nothing was changed)"
        )
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    unknown = [f"{app}.{name}" for app, name in manifest.get("migrations", {}).items()
               if (app, name) not in known]  # fmt: skip
    if unknown:
        raise BackupError("the archive was made by a newer version of missionapp (this code "
                          f"does not have migration {', '.join(unknown)}): install that "
                          "version first (nothing was changed)")  # fmt: skip
    try:
        tables = our_tables()
    except DatabaseError as exc:
        raise BackupError(f"cannot reach the target database {database_label()}: {exc} "
                          "(create it first, empty)") from exc  # fmt: skip
    if tables:
        raise BackupError(
            f"the target database {database_label()} is not empty: it holds {len(tables)} "
            f"tables of missionapp ({', '.join(tables[:3])}, …). A backup is restored only "
            "into an empty database (drop it and create it again, or point DATABASE_URL at a "
            "new one); nothing was changed"
        )


def _storage_sha256(storage, name) -> str:
    digest = hashlib.sha256()
    with storage.open(name, "rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _media_plan(manifest: dict, storage) -> tuple[list[str], int]:
    """The media members to write; refuses if one exists with other content."""
    to_write, present, conflicts = [], 0, []
    for member, listed in manifest["members"].items():
        if not member.startswith(MEDIA_PREFIX):
            continue
        name = str(member_path(member.removeprefix(MEDIA_PREFIX)))
        if not storage.exists(name):
            to_write.append(member)
        elif _storage_sha256(storage, name) == listed["sha256"]:
            present += 1
        else:
            conflicts.append(name)
    if conflicts:
        raise BackupError(f"{len(conflicts)} media files exist already with other content "
                          f"({', '.join(conflicts[:3])}): restore into an empty media "
                          "storage; nothing was changed")  # fmt: skip
    return to_write, present


def _check_anchor_file(manifest: dict) -> bool:
    """Whether the archive's anchor file is to be written (refuses a different one)."""
    listed = manifest["members"].get(ANCHORS_MEMBER)
    target = Path(settings.AUDIT_ANCHOR_FILE)
    if listed is None or not target.exists():
        return listed is not None
    if sha256_file(target) != listed["sha256"]:
        raise BackupError(f"the anchor file {target} exists and differs from the archive's: "
                          "move it aside (keep it: it is evidence) and restore again; "
                          "nothing was changed")  # fmt: skip
    return False


def _restore_database(tar: tarfile.TarFile, vendor: str, scratch: Path):
    dump = scratch / "database"
    with tar.extractfile(DATABASE_MEMBERS[vendor]) as source, open(dump, "wb") as out:
        shutil.copyfileobj(source, out, CHUNK)
    connection = connections["default"]
    db = connection.settings_dict
    if vendor == "postgresql":
        connection.close()
        command = ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
                   f"--dbname={db['NAME']}", *pg_connection_arguments(db), str(dump)]  # fmt: skip
        try:
            run_pg(command, db, "pg_restore")
        except BackupError as exc:
            raise BackupError(
                f"{exc}. The database {database_label()} is now partly restored: drop it, "
                "create it again (empty) and restore again"
            ) from exc
        return
    # SQLite's backup API, page by page into the target file (the one DATABASE_URL names).
    connection.close()
    source, target = sqlite3.connect(dump), sqlite3.connect(db["NAME"])
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


def _restore_media(tar: tarfile.TarFile, members: list[str], storage):
    for member in members:
        name = member.removeprefix(MEDIA_PREFIX)
        with tar.extractfile(member) as source:
            saved = storage.save(name, File(source, name=name))
        if saved != name:
            raise BackupError(f"media file {name} was stored as {saved}: the storage renamed it")


def _restore_anchor_file(tar: tarfile.TarFile):
    target = Path(settings.AUDIT_ANCHOR_FILE)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    with os.fdopen(fd, "wb") as out, tar.extractfile(ANCHORS_MEMBER) as source:
        shutil.copyfileobj(source, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, target)


def backup_restore(*, archive: Path, step=None, unauthenticated: bool = False) -> Restored:
    """Restore `archive` onto the configured database (which must be empty), media storage
    and anchor file, then verify the audit chain.

    Preconditions (each refused with BackupError before anything is written): the archive
    matches its sidecar and manifest; it holds the same database vendor; this code has its
    migrations; the target database holds no table of ours; no media file or anchor file
    of another content would be overwritten."""
    started = time.monotonic()
    step = step or (lambda text: None)
    archive = Path(archive)
    manifest = archive_verify(archive, unauthenticated=unauthenticated)
    step(
        f"{archive.name}: authenticated by AUDIT_KEYS, every member matches its manifest"
        if "origin is not proven" not in manifest.get("warning", "")
        else f"{archive.name}: every member matches its manifest (origin NOT proven)"
    )
    _check_field_keys(manifest)
    _check_database(manifest)
    storage = storages["default"]
    media, present = _media_plan(manifest, storage)
    write_anchors = _check_anchor_file(manifest)
    vendor = manifest["database_vendor"]
    with tarfile.open(archive, mode="r:") as tar, \
            tempfile.TemporaryDirectory(prefix="missionapp-restore-") as scratch:  # fmt: skip
        _restore_database(tar, vendor, Path(scratch))
        step(f"database restored into {database_label()}")
        _forget_the_old_machines_cache()
        _restore_media(tar, media, storage)
        step(f"{len(media)} media files written ({present} were there already)")
        if write_anchors:
            _restore_anchor_file(tar)
            step(f"anchor file written to {settings.AUDIT_ANCHOR_FILE}")
    chain = audit_chain_verify()
    return Restored(manifest=manifest, media_written=len(media), media_present=present,
                    anchors_written=write_anchors, seconds=time.monotonic() - started,
                    chain=chain)  # fmt: skip

"""The nightly backup beat runs (core.tasks.backup_nightly): at most one archive per
mission-local date, then the retention of BACKUP_KEEP_DAYS days."""

import fcntl
import logging
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.utils import timezone

from core.backups.archive import ARCHIVE_NAME, Backup, archive_time, backup_dir, backup_make

log = logging.getLogger(__name__)
# A temporary archive left by a backup that was killed (the machine stopped) is deleted by
# the next night's retention once it is this old: no backup runs that long.
PARTIAL_AGE = timedelta(days=1)


@dataclass
class NightlyResult:
    made: Backup | None = None
    skipped: str = ""
    deleted: list[str] = field(default_factory=list)


def archives(folder: Path) -> list[tuple[datetime, Path]]:
    """Our archives in the folder, oldest first (any other file is not ours: left alone)."""
    found = [(archive_time(path), path) for path in folder.iterdir() if path.is_file()]
    return sorted((made, path) for made, path in found if made is not None)


def backups_retain(*, folder: Path, keep_days: int, now: datetime) -> list[str]:
    """Delete our archives (with their sidecars) made more than `keep_days` days before
    `now`, never the newest one; return the names deleted."""
    found = archives(folder)
    limit = now - timedelta(days=keep_days)
    deleted = []
    for made, path in found[:-1]:  # never the newest, however old
        if made < limit:
            path.with_name(f"{path.name}.sha256").unlink(missing_ok=True)
            path.unlink(missing_ok=True)
            deleted.append(path.name)
    for path in folder.glob(".missionapp-*.tar.*.partial"):
        stem = path.name[1:].split(".tar.", 1)[0] + ".tar"
        made = ARCHIVE_NAME.match(stem) and archive_time(Path(stem))
        if made and made < now - PARTIAL_AGE:
            path.unlink(missing_ok=True)
            deleted.append(path.name)
    for path in folder.glob(".missionapp-scratch-*"):  # a killed backup's database dump
        touched = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
        if path.is_dir() and touched < now - PARTIAL_AGE:
            shutil.rmtree(path, ignore_errors=True)
            deleted.append(path.name)
    return deleted


def backup_nightly(*, keep_days: int, now: datetime | None = None) -> NightlyResult:
    """Make tonight's archive unless one of this mission-local date exists, then apply the
    retention. Idempotent: a second run the same night (or one running at the same time,
    held off by the lock file) makes nothing; the retention deletes nothing the second time."""
    now = now or timezone.now()
    folder = backup_dir()
    folder.mkdir(parents=True, exist_ok=True)
    result = NightlyResult()
    fd = os.open(folder / ".nightly.lock", os.O_WRONLY | os.O_CREAT, 0o640)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            result.skipped = "another nightly backup is running"
            return result
        today = timezone.localdate(now)  # the mission's date (TIME_ZONE)
        done = [path for made, path in archives(folder) if timezone.localdate(made) == today]
        if done:
            result.skipped = f"{done[-1].name} is tonight's backup already"
        else:
            result.made = backup_make(output_dir=folder, now=now.astimezone(UTC))
            log.info("nightly backup %s (%d bytes, %.1f s)", result.made.path, result.made.size,
                     result.made.seconds)  # fmt: skip
        result.deleted = backups_retain(folder=folder, keep_days=keep_days, now=now)
        for name in result.deleted:
            log.info("backup retention: deleted %s", name)
    finally:
        os.close(fd)
    return result

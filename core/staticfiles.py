"""Collecting the static files only when their sources changed.

whitenoise's storage hashes and compresses (gzip, Brotli) every file each time collectstatic
runs: about 40 s here. The embedded stack (`manage.py run_stack`) collects at every start, so
it first compares a fingerprint of the sources (every file the finders see: its path, size and
modification time, and the storage's class) with the one written by the last collection.
"""

import fcntl
import hashlib
import io
import os

from django.conf import settings
from django.contrib.staticfiles.finders import get_finders
from django.core.management import call_command

FINGERPRINT_NAME = ".sources-fingerprint"


def sources_fingerprint() -> str:
    digest = hashlib.sha256(settings.STORAGES["staticfiles"]["BACKEND"].encode())
    entries = []
    for finder in get_finders():
        for path, storage in finder.list(ignore_patterns=[]):
            stat = os.stat(storage.path(path))
            entries.append((path, stat.st_size, stat.st_mtime_ns))
    for path, size, mtime in sorted(entries):
        digest.update(f"{path}\0{size}\0{mtime}\n".encode())
    return digest.hexdigest()


def collect_static_if_changed() -> bool:
    """Run collectstatic unless the sources are those of the last collection into
    STATIC_ROOT; return whether it ran. Two stacks starting at once collect one at a time."""
    root = settings.STATIC_ROOT
    root.mkdir(parents=True, exist_ok=True)
    marker = root / FINGERPRINT_NAME
    with open(root / ".collect.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        fingerprint = sources_fingerprint()
        if marker.exists() and marker.read_text() == fingerprint:
            return False
        marker.unlink(missing_ok=True)
        call_command("collectstatic", interactive=False, verbosity=0, stdout=io.StringIO())
        marker.write_text(fingerprint)
        return True

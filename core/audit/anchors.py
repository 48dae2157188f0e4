"""Anchors: the sealed chain head written down outside the database.

A MAC chain stops anyone without the key; anchors stop the key's holder too (or anyone who
can run the application's code): an anchor that left the system says "entry #N had MAC X",
so rewriting an entry up to #N and resealing everything after it, or cutting entries off the
end and rewinding the head, no longer matches it.

Anchors come from:
- the anchor file (settings.AUDIT_ANCHOR_FILE), one JSON line per anchor, appended by beat
  (core.tasks.audit_anchor) whenever the head moved; the operator ships it off the machine;
- every daily summary revision, which states the head when it was built in its PDF and JSON
  (they leave by e-mail); reports registers them here (core never imports reports);
- anchors given on the command line (`audit_verify --anchor 2760:ab12…`), such as one read
  off an e-mailed summary by a third party.
"""

import fcntl
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from core.audit import keys
from core.audit.models import GENESIS_MAC, AuditChainHead, AuditEntry


@dataclass(frozen=True)
class Anchor:
    source: str  # where it was read, in words ("anchor file line 12")
    seq: int
    mac: str
    key_id: str = ""
    at: str = ""


_sources = []


def register_source(function):
    """`function()` returns a list of Anchors (e.g. the daily summaries')."""
    if function not in _sources:
        _sources.append(function)
    return function


def head_anchor() -> dict:
    """The sealed head as an anchor to put in a document: seq, MAC, key id, time (UTC)."""
    head = AuditChainHead.objects.filter(pk=1).first()
    seq, mac = (head.last_seq, head.last_mac) if head else (0, GENESIS_MAC)
    # The key that sealed the head entry (the genesis has none: the key that would seal #1).
    sealed_by = AuditEntry.objects.filter(seq=seq).values_list("key_id", flat=True).first()
    return {"seq": seq, "mac": mac, "key_id": sealed_by or keys.sealing_key()[0],
            "at": datetime.now(UTC).isoformat(timespec="seconds")}  # fmt: skip


def parse(text: str, source: str) -> Anchor:
    """`seq:mac` (as printed in a summary) → an Anchor; ValueError names what is wrong."""
    seq, _, mac = text.strip().partition(":")
    mac = mac.lower()
    if not seq.isdigit() or len(mac) != 64 or any(c not in "0123456789abcdef" for c in mac):
        raise ValueError(f"{source}: an anchor is <seq>:<64 hex digits of the MAC>, not {text!r}")
    return Anchor(source=source, seq=int(seq), mac=mac)


def file_anchors(path: Path | None = None, unreadable: list | None = None) -> list[Anchor]:
    """The anchors of the file. A line that cannot be read (one cut short when the machine
    stopped while it was written, or damaged) is no anchor and stops nothing: it is named in
    `unreadable` for the verifier to report, and appending goes on on a new line. (Whoever can
    edit this file could delete lines just as well: its copies off the machine are what
    count.)"""
    path = Path(path or settings.AUDIT_ANCHOR_FILE)
    if not path.exists():
        return []
    found = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        source = f"anchor file {path.name} line {number}"
        try:
            data = json.loads(line)
            found.append(Anchor(source=f"{source} ({data.get('at', '?')})", seq=int(data["seq"]),
                                mac=str(data["mac"]).lower(), key_id=str(data.get("key_id", "")),
                                at=str(data.get("at", ""))))  # fmt: skip
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            if unreadable is not None:
                unreadable.append(f"{source} is not an anchor ({exc}); it was skipped")
    return found


def all_anchors(anchor_file: Path | None = None, unreadable: list | None = None) -> list[Anchor]:
    found = file_anchors(anchor_file, unreadable)
    for source in _sources:
        found.extend(source())
    return found


def anchor_file_append(path: Path | None = None) -> dict | None:
    """Append the sealed head to the anchor file if it moved since the last line; return the
    anchor written, or None. Idempotent, and safe with two beats (an exclusive file lock;
    the file is only ever opened for appending)."""
    path = Path(path or settings.AUDIT_ANCHOR_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    anchor = head_anchor()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    with os.fdopen(fd, "a") as out:
        fcntl.flock(out, fcntl.LOCK_EX)
        existing = file_anchors(path)
        if existing and existing[-1].seq >= anchor["seq"]:
            return None
        torn = path.stat().st_size and not path.read_bytes().endswith(b"\n")
        out.write(("\n" if torn else "") + json.dumps(anchor, sort_keys=True) + "\n")
        out.flush()
        os.fsync(out.fileno())
    return anchor

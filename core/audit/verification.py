"""Verifying the audit chain: every seal recomputed in order, on one snapshot of the trail,
and compared with every anchor kept outside it (core.audit.anchors); the report names the
first entry or anchor that does not match. Reads only."""

import contextlib
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.audit import anchors as anchor_sources
from core.audit import keys
from core.audit.models import GENESIS_MAC, AuditChainHead, AuditEntry


def waiting_behind_the_chain(head):
    """On SQLite, the id of the last sealed entry: every waiting entry must come after it.

    SQLite runs one writing transaction at a time and never reuses an id, so entries become
    visible in id order: one that waits with a smaller id than a sealed one was inserted, or
    put back (its seal erased), behind the application's back, and is not sealed (the
    verifier names it). On PostgreSQL a transaction may commit after a later-numbered one, so
    no such rule holds there (its trigger refuses erasing a seal instead). None: no rule."""
    if connection.vendor != "sqlite" or not head.last_seq:
        return None
    return AuditEntry.objects.filter(seq=head.last_seq).values_list("id", flat=True).first()


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    broken_seq: int | None = None
    broken_id: int | None = None
    problem: str = ""
    anchors_checked: int = 0
    waiting: int = 0
    oldest_waiting: datetime | None = None
    warnings: tuple = field(default=())

    @property
    def sealing_behind(self) -> bool:
        """Entries wait longer than AUDIT_SEAL_LAG_ALERT_SECONDS: is the sealer running?"""
        if self.oldest_waiting is None:
            return self.waiting > 0  # waiting entries whose time cannot even be read
        lag = (timezone.now() - self.oldest_waiting).total_seconds()
        return lag > settings.AUDIT_SEAL_LAG_ALERT_SECONDS

    def __str__(self):
        if self.ok:
            text = (f"Audit chain intact: {self.checked} entries verified, "
                    f"{self.anchors_checked} anchors matched.")  # fmt: skip
            if self.waiting:
                text += f" {self.waiting} newer entries wait to be sealed."
            return text
        where = f" at entry #{self.broken_seq} (id {self.broken_id})" if self.broken_seq else ""
        return f"Audit chain BROKEN{where}: {self.problem}"


class _Broken(Exception):
    def __init__(self, problem, entry=None):
        super().__init__(problem)
        self.problem, self.entry = problem, entry


@contextlib.contextmanager
def _read_snapshot():
    """One consistent view of the trail for the whole verification: the entries, the head and
    the anchors read in separate snapshots would race with the sealer and report entries
    "removed from the end" that were only being sealed (a false tamper alarm).

    Inside a transaction already (a test) that transaction is the snapshot."""
    if connection.in_atomic_block:
        yield
    elif connection.vendor == "postgresql":
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield
    else:
        # A deferred read transaction (WAL: a snapshot that does not block writers). Django's
        # atomic() would BEGIN IMMEDIATE here (settings: transaction_mode) and stop every
        # writer for the length of the verification.
        connection.ensure_connection()
        connection.connection.execute("BEGIN DEFERRED")
        try:
            yield
        finally:
            connection.connection.execute("COMMIT")


def audit_chain_verify(*, anchors=None, anchor_file=None) -> ChainReport:
    """Recompute every seal in order and compare the chain with every anchor kept outside it
    (the anchor file, or `anchor_file`, the daily summaries, and `anchors` given by the
    caller); name the first entry or anchor that does not match. Reads one snapshot; writes
    nothing."""
    with _read_snapshot():
        return _verify(list(anchors or []), anchor_sources, anchor_file)


def _verify(given, anchor_sources, anchor_file) -> ChainReport:
    unreadable = []
    found = sorted(anchor_sources.all_anchors(anchor_file, unreadable) + given,
                   key=lambda a: a.seq)  # fmt: skip
    configured = keys.keys()
    expected_prev, expected_seq, checked = GENESIS_MAC, 1, 0
    anchors = iter(found)
    anchor = next(anchors, None)
    matched = 0
    last_good_anchor_seq = 0
    # The genesis: an anchor of an empty chain.
    while anchor is not None and anchor.seq == 0:
        if anchor.mac != GENESIS_MAC:
            return ChainReport(False, 0, problem=f"{anchor.source} records a MAC for #0")
        matched, anchor = matched + 1, next(anchors, None)
    entries = AuditEntry.objects.sealed().order_by("seq").iterator(chunk_size=2000)
    try:
        for entry in entries:
            if entry.seq != expected_seq:
                raise _Broken(f"expected #{expected_seq} here: entries are missing before it",
                              entry)  # fmt: skip
            if entry.prev_mac != expected_prev:
                raise _Broken("its previous-MAC does not match the entry before it", entry)
            key = configured.get(entry.key_id)
            if key is None:
                raise _Broken(f"it was sealed with key {entry.key_id!r}, which is not among "
                              "AUDIT_KEYS (a forged entry, or an old key removed too soon)",
                              entry)  # fmt: skip
            if entry.compute_mac(key) != entry.mac:
                raise _Broken(
                    "its content does not match its MAC (it was altered; or AUDIT_KEYS holds "
                    f"another secret under key id {entry.key_id!r} than the one that sealed it)",
                    entry,
                )
            matched_here = []
            while anchor is not None and anchor.seq == entry.seq:
                if anchor.mac == entry.mac:
                    matched_here.append(anchor)
                    matched, anchor = matched + 1, next(anchors, None)
                    continue
                if matched_here or any(a.seq == entry.seq and a.mac == entry.mac for a in found):
                    raise _Broken(
                        f"{anchor.source} records MAC {anchor.mac} for #{entry.seq}, but the "
                        f"chain and another anchor of #{entry.seq} agree on {entry.mac}: that "
                        "anchor is mistyped or forged",
                        entry,
                    )
                raise _Broken(
                    f"{anchor.source} recorded MAC {anchor.mac} for #{entry.seq}, the chain "
                    f"now has {entry.mac}: entries between #{last_good_anchor_seq + 1} and "
                    f"#{entry.seq} were rewritten and resealed since that anchor",
                    entry,
                )
            if matched_here:
                last_good_anchor_seq = entry.seq
            expected_prev, expected_seq, checked = entry.mac, entry.seq + 1, checked + 1
    except _Broken as broken:
        e = broken.entry
        return ChainReport(False, checked, e.seq, e.pk, broken.problem, anchors_checked=matched)
    head = AuditChainHead.objects.filter(pk=1).first()
    last_seq, last_mac = (head.last_seq, head.last_mac) if head else (0, GENESIS_MAC)
    if anchor is not None:
        rewound = ("and the head was rewound to match" if last_seq == checked
                   else f"the head still records #{last_seq}")  # fmt: skip
        return ChainReport(
            False, checked, anchors_checked=matched,
            problem=f"{anchor.source} records #{anchor.seq} but the chain ends at #{checked}: "
            f"entries were removed from its end, {rewound} (or this database is a backup "
            "older than that anchor: verify it with the anchors kept with it, --anchor-file)",
        )  # fmt: skip
    if last_seq != checked:
        return ChainReport(
            False, checked, anchors_checked=matched,
            problem=f"the chain ends at #{checked} but the head records #{last_seq}: "
            "entries were removed from its end",
        )  # fmt: skip
    if last_mac != expected_prev:
        return ChainReport(
            False, checked, anchors_checked=matched,
            problem=f"the head records MAC {last_mac} for #{last_seq}, the chain ends with "
            f"{expected_prev}: the head row was edited",
        )  # fmt: skip
    waiting = AuditEntry.objects.waiting()
    behind = waiting_behind_the_chain(head) if head else None
    planted = waiting.filter(id__lt=behind).order_by("id").first() if behind else None
    if planted is not None:
        return ChainReport(
            False, checked, anchors_checked=matched,
            problem=f"entry id {planted.pk} waits to be sealed although later entries are: it "
            "was inserted, or its seal erased, behind the application's back",
        )  # fmt: skip
    oldest = waiting.order_by("id").values_list("at", flat=True).first()
    return ChainReport(True, checked, anchors_checked=matched, waiting=waiting.count(),
                       oldest_waiting=oldest, warnings=tuple(unreadable))  # fmt: skip

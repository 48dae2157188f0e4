"""Producing the daily situation summary: exactly one per period, revised when late reports
arrive, stored immutably.

`summary_produce` is the one write: idempotent (a rebuild with the same content changes
nothing), safe with two schedulers (the period's row is unique and locked while a revision
is built; the revision number is unique), and all-or-nothing (content, files and outbox rows
commit together, so a worker killed mid-build leaves nothing). A new revision queues its
e-mail to the distribution list (reports.tasks.summary_deliver, after the commit).
"""

import hashlib
import json
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.audit.anchors import head_anchor
from core.audit.services import audit_seal_or_log
from core.queue import enqueue_on_commit
from reports.models import (
    DailySummary,
    SummaryArtefact,
    SummaryDelivery,
    SummaryRecipient,
    SummaryRevision,
)
from reports.summaries import documents
from reports.summaries.content import build_content
from reports.summaries.services.periods import period_ending, periods_due

Level, Format = SummaryArtefact.Level, SummaryArtefact.Format


def canonical_sha256(content: dict) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def describe_changes(old: dict, new: dict) -> list[str]:
    """What a new revision changes, in words: incidents added or gone, and changed facts."""
    before = {row["ref"]: row for row in old["incidents"]["annex"]}
    after = {row["ref"]: row for row in new["incidents"]["annex"]}
    changes = []
    if old["incidents"]["total"] != new["incidents"]["total"]:
        changes.append(f"Incidents: {old['incidents']['total']} → {new['incidents']['total']}.")
    for ref in sorted(after.keys() - before.keys()):
        row = after[ref]
        changes.append(f"Added [{ref}]: {row['category_label']} {row['location_phrase']} "
                       "(reported after the cut-off or submitted since).")  # fmt: skip
    for ref in sorted(before.keys() - after.keys()):
        row = before[ref]
        changes.append(f"Removed [{ref}]: {row['category_label']} {row['location_phrase']} "
                       "(rejected or withdrawn since).")  # fmt: skip
    watched = (
        "status", "verification", "severity", "category", "civilians_killed",
        "civilians_injured", "military_killed", "military_injured", "counted_as",
    )  # fmt: skip
    for ref in sorted(before.keys() & after.keys()):
        diffs = [f"{name.replace('_', ' ')} {before[ref][name]} → {after[ref][name]}"
                 for name in watched if before[ref][name] != after[ref][name]]  # fmt: skip
        if diffs:
            changes.append(f"Changed [{ref}]: " + "; ".join(diffs) + ".")
    for section in ("patrols", "restrictions", "notifications"):
        if canonical_sha256(old[section]) != canonical_sha256(new[section]):
            changes.append(f"The {section} section changed.")
    return changes or ["Figures recomputed; no incident changed."]


BUILD_STEPS = 1 + len(Level.values) * len(Format.values)  # the content, then each file


def _render(info: dict, content: dict, step) -> list[tuple[str, str, bytes]]:
    """Every file of a revision: (level, format, bytes). Reads nothing, writes nothing."""
    made = []
    for level in Level.values:
        level_content = {**documents.level_content(content, level),
                         "audit_anchor": info["audit_anchor"]}  # fmt: skip
        files = {}
        for fmt, render in documents.RENDERERS.items():
            files[fmt] = render(level_content)
            step(f"{level} {fmt}")
        files[Format.PDF] = documents.as_pdf(level_content, revision=info)
        step(f"{level} pdf")
        made.extend((level, fmt, data) for fmt, data in files.items())
    return made


def summary_produce(*, period_end: datetime, step=None) -> SummaryRevision | None:
    """Build the summary of the period ending at `period_end` (a cut-off).

    Revision 1 when the period has none; a new revision when the content differs from the
    latest one (stating what changed); None when nothing changed or another builder got
    there first. Queues the e-mail of a new revision to the distribution list. `step(name)`
    is called after each of the BUILD_STEPS (a progress bar).

    The content and the eight files are made before any write, then stored in one short
    transaction: on SQLite a transaction holds the database's only write lock for its whole
    length, and rendering took tens of seconds, during which every tablet's report failed
    with "database is locked". The audit entries waiting are sealed first, so the anchor the
    revision states is up to date.
    """
    step = step or (lambda name: None)
    audit_seal_or_log()
    start, end = period_ending(period_end)
    local_end = timezone.localtime(end)
    year, number = local_end.year, local_end.timetuple().tm_yday
    title = DailySummary(year=year, number=number).title
    existing = DailySummary.objects.filter(period_end=end).first()
    latest = existing.revisions.order_by("-number").first() if existing else None
    period_start = existing.period_start if existing else start
    content = build_content(title=title, number=number, year=year, start=period_start, end=end)
    sha = canonical_sha256(content)
    step("content")
    if latest is not None and latest.content_sha256 == sha:
        return None
    info = {
        "number": latest.number + 1 if latest else 1, "content_sha256": sha,
        "changes": describe_changes(latest.content, content) if latest else [],
        "audit_anchor": head_anchor(),
    }  # fmt: skip
    files = _render(info, content, step)
    return _store(end=end, start=start, year=year, number=number, latest=latest, info=info,
                  content=content, files=files)  # fmt: skip


@transaction.atomic
def _store(*, end, start, year, number, latest, info, content, files):
    summary, _ = DailySummary.objects.get_or_create(
        period_end=end,
        defaults={"period_start": start, "year": year, "number": number,
                  "time_zone": settings.TIME_ZONE},
    )  # fmt: skip
    # One builder at a time per period (PostgreSQL); SQLite serialises writers anyway, and the
    # unique revision number stops a second copy on both.
    summary = DailySummary.objects.select_for_update().get(pk=summary.pk)
    now_latest = summary.revisions.order_by("-number").first()
    if (now_latest and now_latest.pk) != (latest and latest.pk):
        return None  # another builder stored a revision while this one rendered
    try:
        with transaction.atomic():
            revision = SummaryRevision.objects.create(
                summary=summary, number=info["number"], content=content,
                content_sha256=info["content_sha256"], changes=info["changes"],
                audit_anchor=info["audit_anchor"],
            )  # fmt: skip
    except IntegrityError:
        return None  # another builder made this revision a moment ago
    for level, fmt, data in files:
        SummaryArtefact.objects.create(
            revision=revision, level=level, format=fmt, data=data,
            sha256=hashlib.sha256(data).hexdigest(), size=len(data),
        )  # fmt: skip
    recipients = list(SummaryRecipient.objects.filter(active=True))
    for recipient in recipients:
        SummaryDelivery.objects.create(revision=revision, recipient=recipient,
                                       level=recipient.level)  # fmt: skip
    if recipients:
        enqueue_on_commit("reports.tasks.summary_deliver", revision.pk)
    return revision


def summaries_catch_up(*, now: datetime | None = None) -> list[SummaryRevision]:
    """Build every period due, oldest first, each in its own transaction (after sealing the
    audit entries waiting, so that the anchor each revision states is up to date)."""
    made = []
    for end in periods_due(now or timezone.now()):
        revision = summary_produce(period_end=end)
        if revision is not None:
            made.append(revision)
    return made

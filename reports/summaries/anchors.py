"""The audit anchors the daily summaries carry (registered with core.audit.anchors)."""

from core.audit.anchors import Anchor
from reports.models import SummaryRevision


def summary_anchors() -> list[Anchor]:
    """Every revision's anchor: the audit chain's head when it was built."""
    found = []
    revisions = SummaryRevision.objects.select_related("summary")
    for revision in revisions.only("number", "audit_anchor", "summary__year", "summary__number"):
        anchor = revision.audit_anchor
        if not anchor.get("seq"):
            continue
        found.append(Anchor(source=f"{revision} (its audit anchor)", seq=int(anchor["seq"]),
                            mac=str(anchor.get("mac", "")), key_id=anchor.get("key_id", ""),
                            at=anchor.get("at", "")))  # fmt: skip
    return found

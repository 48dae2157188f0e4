"""Read queries on the audit trail."""

from datetime import datetime

from core.audit.models import AuditEntry


def audit_seal_lag(*, since: datetime | None = None) -> dict:
    """How long entries waited to be sealed (sealed_at − at, in seconds): count, median, 95th
    percentile and maximum, over the entries written since `since` (the benchmark's figure
    for the sealing bound). Entries still waiting are counted apart."""
    entries = AuditEntry.objects.all()
    if since is not None:
        entries = entries.filter(at__gte=since)
    waits = sorted(
        (sealed - at).total_seconds()
        for at, sealed in entries.sealed().values_list("at", "sealed_at").iterator()
    )
    waiting = entries.waiting().count()
    if not waits:
        return {"sealed": 0, "waiting": waiting, "p50": None, "p95": None, "max": None}

    def pick(q):
        return waits[min(len(waits) - 1, int(q * len(waits)))]

    return {"sealed": len(waits), "waiting": waiting, "p50": pick(0.5), "p95": pick(0.95),
            "max": waits[-1]}  # fmt: skip

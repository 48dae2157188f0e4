"""Small helpers every part of the summary's content uses."""

from datetime import datetime

from django.utils import timezone


def local_iso(value: datetime | None) -> str | None:
    """A time as ISO 8601 in the mission's time zone (None stays None)."""
    return timezone.localtime(value).isoformat() if value else None


def report_ref(report) -> str:
    """The reference a summary gives a report: the one people use (KAP-2026-0142)."""
    return report.reference

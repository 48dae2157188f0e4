"""The frozen itinerary as every document prints it: the version's content with its local and
UTC times, names and figures computed once (patrols.documents.gpx, .pdf and .message read it).

Everything about the patrol is read from the frozen `ItineraryVersion.content` (plus the
version's number, checksum and approval time), never from the live plan, so every party gets
the same words and the same figures, and a resend months later is the same document.
"""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.text import slugify

from patrols.models import ItineraryNotification, ItineraryVersion

CANCELLATION = ItineraryNotification.Purpose.CANCELLATION


def mission_name() -> str:
    # A setting so a deployment can use its own name; the default reads well on paper.
    return getattr(settings, "MISSION_NAME", "Civilian Border Monitoring Mission")


class Itinerary:
    """The version's content with the times and names the documents print, computed once."""

    def __init__(self, version: ItineraryVersion):
        c = version.content
        self.version = version
        self.content = c
        self.number = version.number
        self.supersedes = c.get("supersedes")
        self.zone_name = c.get("time_zone") or settings.TIME_ZONE
        self.zone = ZoneInfo(self.zone_name)
        self.base = c["forward_base"]
        self.departure = datetime.fromisoformat(c["planned_departure"])
        self.return_ = datetime.fromisoformat(c["planned_return"])
        self.local_date = self.departure.astimezone(self.zone).date()

    @property
    def title(self) -> str:
        return f"{self.base} patrol {self.local_date:%Y-%m-%d} — itinerary v{self.number}"

    def filename(self, stem: str, ext: str) -> str:
        return f"{stem}-{slugify(self.base)}-{self.local_date:%Y-%m-%d}-v{self.number}.{ext}"

    def local(self, when: datetime, fmt="%a %d %b %Y, %H:%M") -> str:
        return when.astimezone(self.zone).strftime(fmt)

    def utc(self, when: datetime) -> str:
        """HH:MM UTC, with the UTC date when it is not the local date."""
        in_utc = when.astimezone(UTC)
        same_day = in_utc.date() == when.astimezone(self.zone).date()
        return f"{in_utc:%H:%M} UTC" if same_day else f"{in_utc:%H:%M} UTC {in_utc:%d %b}"

    def when(self, iso: str | None) -> dict | None:
        if not iso:
            return None
        moment = datetime.fromisoformat(iso)
        return {
            "date": self.local(moment, "%a %d %b %Y"),
            "time": self.local(moment, "%H:%M"),
            "utc": self.utc(moment),
            "short": f"{self.local(moment, '%d %b %H:%M')} ({self.utc(moment)})",
        }

    @property
    def escort(self) -> str:
        escort = self.content.get("escort") or {}
        if not escort.get("present"):
            return "None"
        return (
            f"Host-nation escort: {escort['unit']}" if escort.get("unit") else "Host-nation escort"
        )

    @property
    def team(self) -> str:
        size = self.content["team_size"]
        return f"{size} mission member{'s' if size != 1 else ''}"

    @property
    def vehicles(self) -> list[dict]:
        return self.content.get("vehicles") or []

    @property
    def waypoints(self) -> list[dict]:
        return [
            {
                **w,
                "lat_text": f"{abs(w['lat']):.5f}° {'N' if w['lat'] >= 0 else 'S'}",
                "lon_text": f"{abs(w['lon']):.5f}° {'E' if w['lon'] >= 0 else 'W'}",
                "when": self.when(w.get("planned_time")),
            }
            for w in self.content.get("waypoints") or []
        ]

    @property
    def version_line(self) -> str:
        if self.supersedes:
            return f"Version {self.number} — AMENDED, supersedes version {self.supersedes}"
        return f"Version {self.number}"

    @property
    def approved(self) -> str:
        return (
            f"{self.local(self.version.approved_at, '%d %b %Y %H:%M')} ({self.zone_name}), "
            f"{self.utc(self.version.approved_at)}"
        )

    @property
    def checksum(self) -> str:
        return self.version.content_sha256[:16]

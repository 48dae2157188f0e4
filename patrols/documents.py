"""The documents the parties receive: the itinerary as PDF, as GPX, and the e-mail carrying them.

Everything about the patrol is read from the frozen `ItineraryVersion.content` (plus the
version's number, checksum and approval time), never from the live plan, so every party gets
the same words and the same figures, and a resend months later is the same document.
"""

import base64
from datetime import UTC, datetime
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage
from django.template import Context, Engine
from django.utils.text import slugify

from core.maps import MapLine, MapPoint, render_map_svg
from liaison.selectors import email_addresses
from patrols.models import ItineraryNotification, ItineraryVersion

GPX_NS = "http://www.topografix.com/GPX/1/1"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
CANCELLATION = ItineraryNotification.Purpose.CANCELLATION
ROUTE_COLOUR = "#0b4f9c"
CANCELLED_ROUTE_COLOUR = "#6b6b6b"


def _mission_name() -> str:
    # A setting so a deployment can use its own name; the default reads well on paper.
    return getattr(settings, "MISSION_NAME", "Civilian Border Monitoring Mission")


class _Itinerary:
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


def _utc_z(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def itinerary_gpx(version: ItineraryVersion) -> str:
    """GPX 1.1: one waypoint per itinerary waypoint and the route, from the frozen content."""
    it = _Itinerary(version)
    c = it.content
    ET.register_namespace("", GPX_NS)
    ET.register_namespace("xsi", XSI_NS)

    def sub(parent, tag, text=None, **attrs):
        element = ET.SubElement(parent, f"{{{GPX_NS}}}{tag}", attrs)
        if text is not None:
            element.text = text
        return element

    gpx = ET.Element(
        f"{{{GPX_NS}}}gpx",
        {
            "version": "1.1",
            "creator": "missionapp",
            f"{{{XSI_NS}}}schemaLocation": f"{GPX_NS} {GPX_NS}/gpx.xsd",
        },
    )
    metadata = sub(gpx, "metadata")
    sub(metadata, "name", it.title)
    sub(
        metadata,
        "desc",
        f"{c['purpose']}. Departure {it.when(c['planned_departure'])['short']}, return "
        f"{it.when(c['planned_return'])['short']}, times {it.zone_name}. "
        f"Content checksum {it.checksum}.",
    )
    lons = [x for x, _ in c["route"]] + [w["lon"] for w in c["waypoints"]]
    lats = [y for _, y in c["route"]] + [w["lat"] for w in c["waypoints"]]
    if lons:
        sub(
            metadata, "bounds",
            minlat=f"{min(lats):.6f}", minlon=f"{min(lons):.6f}",
            maxlat=f"{max(lats):.6f}", maxlon=f"{max(lons):.6f}",
        )  # fmt: skip
    # GPX fixes the order of a waypoint's children: time comes before name.
    for w in c["waypoints"]:
        wpt = sub(gpx, "wpt", lat=f"{w['lat']:.6f}", lon=f"{w['lon']:.6f}")
        if w.get("planned_time"):
            sub(wpt, "time", _utc_z(w["planned_time"]))
        sub(wpt, "name", w["name"])
        sub(wpt, "desc", f"Waypoint {w['position']} of itinerary v{it.number}")
    rte = sub(gpx, "rte")
    sub(rte, "name", it.title)
    for lon, lat in c["route"]:
        sub(rte, "rtept", lat=f"{lat:.6f}", lon=f"{lon:.6f}")
    ET.indent(gpx, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(gpx, encoding="unicode") + "\n"


_ENGINE = Engine(autoescape=True)

_PDF_TEMPLATE = _ENGINE.from_string(
    """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ title }}</title>
<meta name="author" content="{{ mission }}">
<meta name="dcterms.created" content="{{ created }}">
<style>
@page {
  size: A4; margin: 14mm 15mm 17mm 15mm;
  @bottom-left { content: element(footer); vertical-align: top; padding-top: 2.5mm; }
  @bottom-right {
    content: "Page " counter(page) " of " counter(pages); width: 22mm; white-space: nowrap;
    text-align: right; font: 7.5pt "DejaVu Sans"; color: #555; vertical-align: top;
    padding-top: 2.5mm;
  }
}
html { font-family: "DejaVu Sans", sans-serif; font-size: 9.5pt; color: #1a1a1a; }
body { margin: 0; }
.footer { position: running(footer); font-size: 7.5pt; color: #555; }
.footer b { color: #1a1a1a; font-family: "DejaVu Sans Mono", monospace; font-weight: normal; }
.masthead { border-bottom: 2.5pt solid {{ accent }}; padding-bottom: 2.5mm; margin-bottom: 4mm;
  display: flex; justify-content: space-between; align-items: flex-end; }
.mission { font-size: 8.5pt; text-transform: uppercase; color: {{ accent }}; font-weight: bold; }
h1 { font-size: 19pt; margin: 1mm 0 0 0; font-weight: bold; white-space: nowrap; }
.ref { text-align: right; font-size: 8pt; color: #444; line-height: 1.5; }
.ref strong { font-size: 10.5pt; color: #1a1a1a; }
.version { font-size: 15pt; font-weight: bold; padding: 2.5mm 4mm; margin-bottom: 4mm;
  border-left: 5pt solid #0b4f9c; background: #eef3fa; }
.version.amended { border-left-color: #c77700; background: #fff4e0; color: #6b3f00; }
.banner { font-size: 17pt; font-weight: bold; color: #fff; background: #b71c1c;
  padding: 3.5mm 4mm; margin-bottom: 2mm; text-align: center; }
.cancel-note { font-size: 9.5pt; margin: 0 0 4mm 0; color: #7f1010; text-align: center; }
.times { display: flex; gap: 4mm; margin-bottom: 3mm; }
.time { flex: 1; border: 0.75pt solid #c9ced6; padding: 2.2mm 3.5mm; }
.label { font-size: 7.5pt; text-transform: uppercase; color: #555; }
.time .date { font-size: 10pt; margin-top: 0.6mm; }
.time .clock { font-size: 18pt; font-weight: bold; }
.time .zone { font-size: 8.5pt; color: #444; font-weight: normal; }
.time .utc { font-size: 10pt; color: #333; font-weight: normal; margin-left: 3mm; }
.cancelled .time .clock .local { text-decoration: line-through; color: #777; }
table { border-collapse: collapse; width: 100%; }
.facts { display: flex; gap: 6mm; }
.facts > div { flex: 1 1 0; min-width: 0; }
.facts table { table-layout: fixed; }
.facts td { padding: 1.3mm 1.5mm; vertical-align: top; border-bottom: 0.5pt solid #e1e4e8; }
.facts td.key { width: 27mm; padding-top: 1.7mm; }
.mono { font-family: "DejaVu Sans Mono", monospace; font-size: 9pt; white-space: nowrap; }
h2 { font-size: 10.5pt; margin: 4.5mm 0 1.5mm 0; color: {{ accent }}; text-transform: uppercase;
  break-after: avoid; }
.map { margin: 0; page-break-inside: avoid; }
.map img { width: 100%; display: block; border: 0.5pt solid #999; }
.map figcaption { font-size: 7.5pt; color: #555; margin-top: 1.2mm; }
.swatch { display: inline-block; width: 7mm; height: 1.2mm; vertical-align: middle;
  margin: 0 1mm 0 0; }
.swatch.sector { height: 2.5mm; background: #f4efe2; border: 0.5pt solid #a9a49a; }
.swatch.abroad { height: 2.5mm; background: #e6e8eb; border: 0.5pt solid #a9a49a; }
.legend span.item { margin-right: 4mm; white-space: nowrap; }
.waypoints th { text-align: left; font-size: 7.5pt; text-transform: uppercase; color: #555;
  font-weight: normal; border-bottom: 1pt solid #1a1a1a; padding: 1.3mm 1.5mm; }
.waypoints td { padding: 1.5mm 1.5mm; border-bottom: 0.5pt solid #e1e4e8; }
.waypoints tr { page-break-inside: avoid; }
.waypoints .num { width: 6mm; text-align: center; }
.waypoints .num span { display: inline-block; width: 5.2mm; height: 5.2mm; line-height: 5.2mm;
  border-radius: 50%; background: {{ route_colour }}; color: #fff; font-weight: bold;
  font-size: 8pt; text-align: center; }
.nowrap { white-space: nowrap; }
.waypoints .utc { color: #555; }
.none { color: #777; }
</style></head>
<body class="{% if cancelled %}cancelled{% endif %}">
<div class="footer">Content checksum <b>{{ checksum }}</b> (SHA-256) · itinerary v{{ number }}
 approved {{ approved }}</div>
<div class="masthead">
  <div><div class="mission">{{ mission }}</div>
  <h1>{% if cancelled %}Patrol cancellation notice{% else %}Patrol itinerary notification
  {% endif %}</h1></div>
  <div class="ref"><strong>{{ base }} patrol · {{ local_date }}</strong><br>
  Plan {{ plan_id }} · itinerary version {{ number }}<br>Approved {{ approved_local }}</div>
</div>
{% if cancelled %}
<div class="banner">CANCELLED — this patrol will not take place</div>
<p class="cancel-note">This notice cancels itinerary version {{ number }}, shown below as last
notified. No patrol will move on this itinerary.</p>
{% else %}
<div class="version{% if supersedes %} amended{% endif %}">{{ version_line }}</div>
{% endif %}
<div class="times">
  <div class="time"><div class="label">Departure from {{ base }}</div>
    <div class="date">{{ departure.date }}</div>
    <div class="clock"><span class="local">{{ departure.time }}</span>
    <span class="zone">{{ zone }}</span><span class="utc">{{ departure.utc }}</span></div></div>
  <div class="time"><div class="label">Planned return to {{ base }}</div>
    <div class="date">{{ return.date }}</div>
    <div class="clock"><span class="local">{{ return.time }}</span>
    <span class="zone">{{ zone }}</span><span class="utc">{{ return.utc }}</span></div></div>
</div>
<div class="facts"><div>
<table>
<tr><td class="key label">Forward base</td><td>{{ base }}</td></tr>
<tr><td class="key label">Purpose</td><td>{{ purpose }}</td></tr>
<tr><td class="key label">Escort</td><td>{{ escort }}</td></tr>
<tr><td class="key label">Team size</td><td>{{ team_size }}</td></tr>
</table></div><div>
<table>
<tr><td class="key label">Vehicles</td><td>{% for v in vehicles %}
  <span class="mono">{{ v.call_sign }}</span> <span class="none">plate</span>
  <span class="mono">{{ v.plate }}</span>{% if not forloop.last %}<br>{% endif %}
  {% empty %}<span class="none">None listed</span>{% endfor %}</td></tr>
<tr><td class="key label">Sectors</td><td>{{ sectors|join:", "|default:"—" }}</td></tr>
<tr><td class="key label">Settlements within 5 km</td>
  <td>{{ settlements|join:", "|default:"None" }}</td></tr>
</table>
</div></div>
<h2>Waypoints</h2>
<table class="waypoints">
<thead><tr><th class="num">#</th><th>Name</th><th>Latitude</th><th>Longitude</th>
<th>Planned time, {{ zone }}</th><th>UTC</th></tr></thead>
<tbody>{% for w in waypoints %}<tr><td class="num"><span>{{ w.position }}</span></td>
<td><strong>{{ w.name }}</strong></td><td class="mono">{{ w.lat_text }}</td>
<td class="mono">{{ w.lon_text }}</td>
<td class="nowrap">{% if w.when %}{{ w.when.date }}, <strong>{{ w.when.time }}</strong>
  {% else %}<span class="none">not set</span>{% endif %}</td>
<td class="utc nowrap">{% if w.when %}{{ w.when.utc }}{% endif %}</td></tr>
{% endfor %}</tbody></table>
<h2>Route</h2>
<figure class="map"><img src="data:image/svg+xml;base64,{{ map }}" alt="Route map">
<figcaption class="legend">
<span class="item"><span class="swatch" style="background: {{ route_colour }}"></span>
  {% if cancelled %}Cancelled route{% else %}Route{% endif %}, numbered waypoints</span>
<span class="item"><span class="swatch" style="background: #c62828"></span>
  Armenia–Azerbaijan border</span>
<span class="item"><span class="swatch sector"></span>Mission sector</span>
<span class="item"><span class="swatch abroad"></span>Outside Armenia</span><br>
The border is Natural Earth's 1:10M generalised line, not a delimitation: it may be off by
hundreds of metres.</figcaption>
</figure>
</body></html>"""
)


def _route_map(it: _Itinerary, *, cancelled: bool) -> str:
    colour = CANCELLED_ROUTE_COLOUR if cancelled else ROUTE_COLOUR
    layers = []
    if len(it.content["route"]) >= 2:
        layers.append(MapLine(coords=it.content["route"], colour=colour, width=4,
                              dash="10 6" if cancelled else None))  # fmt: skip
    layers += [
        MapPoint(lon=w["lon"], lat=w["lat"], label=w["name"], colour=colour, number=w["position"])
        for w in it.content["waypoints"]
    ]
    svg = render_map_svg(layers=layers, width=720, height=400)
    return base64.b64encode(svg.encode()).decode("ascii")


def itinerary_pdf(version: ItineraryVersion, *, purpose: str = "itinerary") -> bytes:
    """The A4 notification (or cancellation notice) every party receives, identical for all."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    it = _Itinerary(version)
    c = it.content
    cancelled = purpose == CANCELLATION
    html = _PDF_TEMPLATE.render(
        Context(
            {
                "mission": _mission_name(),
                "title": it.title,
                "created": version.approved_at.astimezone(UTC).isoformat(),
                "cancelled": cancelled,
                "base": it.base,
                "local_date": f"{it.local_date:%d %b %Y}",
                "plan_id": c["plan"],
                "number": it.number,
                "supersedes": it.supersedes,
                "version_line": it.version_line,
                "approved": it.approved,
                "approved_local": it.local(version.approved_at, f"%d %b %Y %H:%M {it.zone_name}"),
                "checksum": it.checksum,
                "zone": it.zone_name,
                "departure": it.when(c["planned_departure"]),
                "return": it.when(c["planned_return"]),
                "purpose": c["purpose"],
                "escort": it.escort,
                "team_size": it.team,
                "vehicles": it.vehicles,
                "sectors": c.get("sectors") or [],
                "settlements": c.get("nearby_settlements") or [],
                "waypoints": it.waypoints,
                "map": _route_map(it, cancelled=cancelled),
                "route_colour": CANCELLED_ROUTE_COLOUR if cancelled else ROUTE_COLOUR,
                "accent": "#b71c1c" if cancelled else ROUTE_COLOUR,
            }
        )
    )
    # Only the inline map (a data: URI) may be loaded: nothing is fetched from any network.
    fetcher = URLFetcher(allowed_protocols={"data"})
    return HTML(string=html, url_fetcher=fetcher).write_pdf()


def _subject(it: _Itinerary, purpose: str) -> str:
    where = f"{it.base}, {it.local_date:%d %b %Y}"
    if purpose == CANCELLATION:
        return f"CANCELLED: patrol itinerary — {where} — v{it.number}"
    amended = f" (AMENDED, supersedes v{it.supersedes})" if it.supersedes else ""
    return f"Patrol itinerary — {where} — v{it.number}{amended}"


def _body(it: _Itinerary, notification: ItineraryNotification, ack_url: str, parties) -> str:
    c = it.content
    cancelled = notification.purpose == CANCELLATION
    dep, ret = it.when(c["planned_departure"]), it.when(c["planned_return"])
    lines = [f"Dear {notification.party.name},", ""]
    if cancelled:
        lines += [
            f"The {_mission_name()} informs you that the patrol below is CANCELLED and will "
            "not take place.",
            f"This cancels itinerary version {it.number} as last notified to you.",
        ]
    else:
        lines.append(f"The {_mission_name()} notifies you of the following patrol.")
        if it.supersedes:
            lines.append(
                f"This is version {it.number} of the itinerary. It AMENDS and supersedes "
                f"version {it.supersedes}, which no longer applies."
            )
    vehicles = [f"{v['call_sign']} (plate {v['plate']})" for v in it.vehicles]
    lines += [
        "",
        f"Forward base:   {it.base}",
        f"Purpose:        {c['purpose']}",
        f"Departure:      {dep['date']} {dep['time']} {it.zone_name} ({dep['utc']})",
        f"Return:         {ret['date']} {ret['time']} {it.zone_name} ({ret['utc']})",
        f"Escort:         {it.escort}",
        f"Team size:      {it.team}",
        f"Vehicles:       {'; '.join(vehicles) or 'none listed'}",
        f"Sectors:        {', '.join(c.get('sectors') or []) or '—'}",
        f"Settlements within 5 km: {', '.join(c.get('nearby_settlements') or []) or 'none'}",
        "",
        f"Waypoints (planned times {it.zone_name}, UTC in brackets):",
    ]
    for w in it.waypoints:
        when = f"  {w['when']['short']}" if w["when"] else ""
        lines.append(f"  {w['position']}. {w['name']} — {w['lat_text']}, {w['lon_text']}{when}")
    attached = (
        "The cancellation notice is attached as a PDF."
        if cancelled
        else "The itinerary is attached as a PDF, and as a GPX file for navigation software."
    )
    lines += [
        "",
        attached,
        f"Content checksum (SHA-256, first 16 characters): {it.checksum}",
        "",
        "Please acknowledge receipt by opening this link:",
        ack_url,
        "",
        f"The same {'notice' if cancelled else 'itinerary'} is sent to every party concerned: "
        f"{', '.join(parties)}.",
        "",
        _mission_name(),
    ]
    return "\n".join(lines) + "\n"


def _message_id(plan_id, number, party_code, purpose) -> str:
    return f"<itinerary-{plan_id}-v{number}-{party_code}-{purpose}@missionapp>"


def itinerary_message(notification: ItineraryNotification, *, ack_url: str) -> EmailMessage:
    """The e-mail for one party: same itinerary for all; only greeting and ack link differ.

    The Message-ID is derived from plan, version, party and purpose, so a resend is
    recognisably the same message; amendments and cancellations refer to the earlier ones,
    so mail clients thread them together.
    """
    version = notification.version
    it = _Itinerary(version)
    purpose = notification.purpose
    parties = list(
        version.notifications.filter(purpose=purpose)
        .order_by("party__name")
        .values_list("party__name", flat=True)
    )
    plan_id = it.content["plan"]
    earlier = [_message_id(plan_id, n, notification.party.code, "itinerary")
               for n in range(1, it.number + (1 if purpose == CANCELLATION else 0))]  # fmt: skip
    headers = {"Message-ID": _message_id(plan_id, it.number, notification.party.code, purpose)}
    if earlier:
        headers["References"] = " ".join(earlier)
        headers["In-Reply-To"] = earlier[-1]
    message = EmailMessage(
        subject=_subject(it, purpose),
        body=_body(it, notification, ack_url, parties),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=email_addresses(notification.recipients),
        headers=headers,
    )
    stem = "cancellation" if purpose == CANCELLATION else "itinerary"
    message.attach(
        it.filename(stem, "pdf"), itinerary_pdf(version, purpose=purpose), "application/pdf"
    )
    if purpose != CANCELLATION:
        message.attach(
            it.filename("itinerary", "gpx"), itinerary_gpx(version), "application/gpx+xml"
        )
    return message

"""The itinerary (or the cancellation notice) as the A4 PDF every party receives, with its
route map drawn inline: nothing is fetched from any network."""

import base64
from datetime import UTC

from django.template import Context, Engine

from core.maps import MapLine, MapPoint, render_map_svg
from patrols.documents.itinerary import CANCELLATION, Itinerary, mission_name
from patrols.models import ItineraryVersion

ROUTE_COLOUR = "#0b4f9c"
CANCELLED_ROUTE_COLOUR = "#6b6b6b"

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


def _route_map(it: Itinerary, *, cancelled: bool) -> str:
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

    it = Itinerary(version)
    c = it.content
    cancelled = purpose == CANCELLATION
    html = _PDF_TEMPLATE.render(
        Context(
            {
                "mission": mission_name(),
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

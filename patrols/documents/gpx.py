"""The itinerary as GPX 1.1, for the parties' navigation software."""

from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from patrols.documents.itinerary import Itinerary
from patrols.models import ItineraryVersion

GPX_NS = "http://www.topografix.com/GPX/1/1"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"


def _utc_z(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def itinerary_gpx(version: ItineraryVersion) -> str:
    """GPX 1.1: one waypoint per itinerary waypoint and the route, from the frozen content."""
    it = Itinerary(version)
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

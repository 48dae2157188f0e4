"""The files of a summary revision: JSON, CSV (HXL hashtags, ACLED column names), GeoJSON and
PDF, at two distribution levels; a stored file handed out as a download, and the e-mail that
carries a revision's PDF to the distribution list.

- internal: everything the content holds.
- releasable: no source identities (no reporter, no "alleged by"), no liaison names, no
  attachment links, coordinates rounded to 0.01° (about 1 km). Derived from the internal
  content by `releasable()`, so the two can never disagree on a figure.
"""

import base64
import copy
import csv
import io
import json
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django.http import HttpResponse
from django.template.loader import render_to_string

from core.csv import spreadsheet_safe
from core.maps import MapPoint, render_map_svg
from reports.models import SummaryArtefact, SummaryDelivery

INTERNAL, RELEASABLE = "internal", "releasable"
# Fields of an annex row that identify a source or link to internal material.
# The observer's bearing and distance with the incident's point give where monitors stood.
SOURCE_FIELDS = (
    "reporter", "alleged_by", "attachments", "uuid", "observer_bearing_degrees",
    "observer_distance_m",
)  # fmt: skip
RELEASABLE_DECIMALS = 2

# ACLED's column names where ACLED has one (event_date … source), then the mission's own.
CSV_COLUMNS = [
    # (column, HXL hashtag, value from an annex row)
    ("event_id_cnty", "#event+id", lambda r: r["ref"]),
    ("event_date", "#date+occurred", lambda r: r["observed_at"][:10]),
    ("event_type", "#event+type", lambda r: r["event_type"]),
    ("sub_event_type", "#event+type+sub", lambda r: r["sub_event_type"]),
    # Across the line: the other side's, whose districts the mission does not hold (admin1
    # empty); the mission's sector that saw it is in `sector` below.
    ("country", "#country+name", lambda r: "Azerbaijan" if r.get("across_line") else "Armenia"),
    ("admin1", "#adm1+name", lambda r: "" if r.get("across_line") else r["sector"]),
    ("location", "#loc+name", lambda r: r["location_phrase"]),
    ("latitude", "#geo+lat", lambda r: r["latitude"]),
    ("longitude", "#geo+lon", lambda r: r["longitude"]),
    # ACLED: 1 the exact place, 2 near it, 3 a wider area.
    ("geo_precision", "#geo+precision",
     lambda r: {"exact": 1, "approximate": 2, "area": 3}[r["location_precision"]]),
    # ACLED: 1 the day is known (every mission report knows its day).
    ("time_precision", "#date+precision", lambda r: 1),
    ("fatalities", "#affected+killed", lambda r: r["civilians_killed"] + r["military_killed"]),
    ("notes", "#description", lambda r: r["description"]),
    ("source", "#meta+source", lambda r: r["source"]),
    ("observed_at", "#date+time", lambda r: r["observed_at"]),
    ("category", "#event+category", lambda r: r["category_label"]),
    ("severity", "#severity", lambda r: r["severity"]),
    ("civilians_injured", "#affected+injured+civilian", lambda r: r["civilians_injured"]),
    ("military_injured", "#affected+injured+military", lambda r: r["military_injured"]),
    ("casualty_source", "#meta+casualties", lambda r: r["casualty_source"]),
    ("verification", "#status+verification", lambda r: r["verification"]),
    ("counted_as", "#event+id+counted", lambda r: r["counted_as"]),
    ("sector", "#adm1+name+sector", lambda r: r["sector"]),
    ("across_line", "#loc+across", lambda r: "yes" if r.get("across_line") else "no"),
]  # fmt: skip
INTERNAL_CSV_COLUMNS = [("reporter", "#contact+name+reporter", lambda r: r["reporter"])]


def _source(row, level) -> str:
    means = row["observation_means"].replace("_", " ")
    if level == INTERNAL:
        return f"Mission monitors ({means}); reporter {row['reporter']}"
    return f"Mission monitors ({means})"


def releasable(content: dict) -> dict:
    """The releasable content: the internal one without what identifies a source."""
    out = copy.deepcopy(content)
    out["level"] = RELEASABLE
    for row in out["incidents"]["annex"]:
        for name in SOURCE_FIELDS:
            row.pop(name, None)
        # A monitor's own words say where they stood ("8 km east of the observation point
        # at Davit Bek"): the releasable row says what and where, in the mission's words.
        row["description"] = f"{row['category_label']}, {row['location_phrase']}."
        row["latitude"] = round(row["latitude"], RELEASABLE_DECIMALS)
        row["longitude"] = round(row["longitude"], RELEASABLE_DECIMALS)
    for item in out["incidents"]["notable"]:
        item.pop("description", None)
    liaison = out.get("liaison")
    if liaison:
        for item in liaison.get("overdue_follow_ups", []):
            item.pop("owner", None)
            item.pop("contacts", None)
    return out


def level_content(content: dict, level: str) -> dict:
    if level == RELEASABLE:
        return releasable(content)
    return {**content, "level": INTERNAL}


def as_json(content: dict) -> bytes:
    return json.dumps(content, ensure_ascii=False, indent=2, sort_keys=True).encode()


def as_csv(content: dict) -> bytes:
    """The incident annex: ACLED's column names, and HXL hashtags in the second row."""
    level = content["level"]
    columns = CSV_COLUMNS + (INTERNAL_CSV_COLUMNS if level == INTERNAL else [])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([name for name, _, _ in columns])
    writer.writerow([tag for _, tag, _ in columns])
    for row in content["incidents"]["annex"]:
        row = {**row, "source": _source(row, level)}
        writer.writerow([spreadsheet_safe(value(row)) for _, _, value in columns])
    return buffer.getvalue().encode()


def as_geojson(content: dict) -> bytes:
    features = []
    for row in content["incidents"]["annex"]:
        properties = {k: v for k, v in row.items() if k not in ("latitude", "longitude")}
        features.append({
            "type": "Feature",
            "id": row["ref"],
            "geometry": {"type": "Point", "coordinates": [row["longitude"], row["latitude"]]},
            "properties": properties,
        })  # fmt: skip
    collection = {"type": "FeatureCollection", "name": content["title"],
                  "level": content["level"], "period": content["period"],
                  "audit_anchor": content.get("audit_anchor", {}),
                  "features": features}  # fmt: skip
    return json.dumps(collection, ensure_ascii=False, sort_keys=True).encode()


# --- PDF ------------------------------------------------------------------------------------

SEVERITY_COLOURS = {1: "#4d7c0f", 2: "#a16207", 3: "#c2410c", 4: "#b91c1c", 5: "#7f1d1d"}
SECTOR_COLOURS = ["#0b4f9c", "#c2410c", "#4d7c0f", "#7b1fa2", "#0f766e", "#a16207"]


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")


def incident_map_svg(content: dict) -> str:
    """The period's incidents over our provinces and border (no tiles), numbered as in the
    annex, coloured by severity."""
    points = [
        MapPoint(lon=row["longitude"], lat=row["latitude"],
                 colour=SEVERITY_COLOURS[row["severity"]], number=index)
        for index, row in enumerate(content["incidents"]["annex"], start=1)
    ]  # fmt: skip
    # The whole mission area, so that one day's map compares with the next.
    return render_map_svg(layers=points, bbox=(43.4, 38.8, 46.7, 41.35), width=720, height=560)


def trend_svg(trend: dict, width: int = 720, height: int = 240) -> str:
    """Incidents per day and sector over 30 days: one line per sector, with a legend."""
    days, series = trend["days"], trend["by_sector"]
    left, right, top, bottom = 36, 150, 14, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([1, *[max(values) for values in series.values() if values]])
    step = plot_w / max(1, len(days) - 1)

    def y(value):
        return top + plot_h - value / peak * plot_h

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, sans-serif" font-size="10">',
           f'<rect width="{width}" height="{height}" fill="#ffffff"/>']  # fmt: skip
    for tick in sorted({0, peak // 2, peak}):
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
                   f'stroke="#d8dde3"/><text x="{left - 6}" y="{y(tick) + 3:.1f}" '
                   f'text-anchor="end" fill="#555">{tick}</text>')  # fmt: skip
    for i, day in enumerate(days):
        if (i % 7 == 0 and len(days) - 1 - i >= 4) or i == len(days) - 1:
            out.append(f'<text x="{left + i * step:.1f}" y="{height - 10}" text-anchor="middle" '
                       f'fill="#555">{day[8:10]}.{day[5:7]}</text>')  # fmt: skip
    for n, (sector, values) in enumerate(sorted(series.items())):
        colour = SECTOR_COLOURS[n % len(SECTOR_COLOURS)]
        points = " ".join(f"{left + i * step:.1f},{y(v):.1f}" for i, v in enumerate(values))
        out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" '
                   f'stroke-width="2"/>')  # fmt: skip
        ly = top + 14 + n * 16
        out.append(f'<line x1="{width - right + 14}" x2="{width - right + 34}" y1="{ly - 3}" '
                   f'y2="{ly - 3}" stroke="{colour}" stroke-width="3"/>'
                   f'<text x="{width - right + 40}" y="{ly}" fill="#222">{sector} '
                   f'({sum(values)})</text>')  # fmt: skip
    out.append("</svg>")
    return "".join(out)


def _sector_category_matrix(content: dict):
    table = content["incidents"]["by_sector_category"]
    categories = sorted({(r["category"], r["category_label"]) for r in table})
    sectors = sorted({r["sector"] for r in table})
    cell = {(r["sector"], r["category"]): r for r in table}
    rows = []
    for sector in sectors:
        cells = [cell.get((sector, code)) for code, _ in categories]
        rows.append({"sector": sector, "cells": cells,
                     "total": sum(c["count"] for c in cells if c)})  # fmt: skip
    return [label for _, label in categories], rows


def as_pdf(content: dict, *, sha256: str = "", revision: dict | None = None) -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    headers, matrix = _sector_category_matrix(content)
    html = render_to_string("reports/summaries/pdf.html", {
        "c": content,
        "revision": revision or {},
        "sha256": sha256,
        "matrix_headers": headers,
        "matrix": matrix,
        "annex": [{**row, "when": f"{datetime.fromisoformat(row['observed_at']):%-d %b %H:%M}"}
                  for row in content["incidents"]["annex"]],
        "map": _data_uri(incident_map_svg(content)),
        "trend": _data_uri(trend_svg(content["trend"])),
        "severity_colours": SEVERITY_COLOURS,
    })  # fmt: skip
    # Only the inline images (data: URIs) may be loaded: nothing is fetched from any network.
    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols={"data"})).write_pdf()


RENDERERS = {"json": as_json, "csv": as_csv, "geojson": as_geojson}


# --- Handing out ----------------------------------------------------------------------------

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "geojson": "application/geo+json",
}


def artefact_filename(artefact: SummaryArtefact) -> str:
    summary = artefact.revision.summary
    return (f"Daily-Report-{summary.number:03d}-{summary.year}-r{artefact.revision.number}-"
            f"{artefact.level}.{artefact.format}")  # fmt: skip


def artefact_response(artefact: SummaryArtefact) -> HttpResponse:
    """A stored file as an attachment (the page's and the API's download alike)."""
    response = HttpResponse(bytes(artefact.data), content_type=CONTENT_TYPES[artefact.format])
    response["Content-Disposition"] = f'attachment; filename="{artefact_filename(artefact)}"'
    # Stored files never change: the hash is their identity.
    response["ETag"] = f'"{artefact.sha256}"'
    response["X-Content-SHA256"] = artefact.sha256
    return response


def delivery_message(delivery: SummaryDelivery, pdf: SummaryArtefact) -> EmailMessage:
    """The e-mail of one delivery: the revision's highlights (and what it changed, for a
    revision after the first) with its PDF at the recipient's level attached."""
    revision = delivery.revision
    title = revision.summary.title + (f" (revision {revision.number})"
                                      if revision.number > 1 else "")  # fmt: skip
    body = [f"{title}: {revision.content['period']['label']}.", ""]
    body += [f"- {line}" for line in revision.content["highlights"]]
    if revision.number > 1:
        body += ["", f"Supersedes revision {revision.number - 1}. What changed:"]
        body += [f"- {line}" for line in revision.changes]
    body += ["", f"{delivery.get_level_display()} distribution. SHA-256 of the PDF: "
                 f"{pdf.sha256}", f"{settings.SITE_URL}/summaries/"]  # fmt: skip
    # One Message-ID per revision and recipient: a resend after a worker died mid-send is
    # recognisably the same e-mail (mail programs show one).
    message_id = f"<summary-{delivery.revision_id}-{delivery.recipient_id}@missionapp>"
    message = EmailMessage(subject=title, body="\n".join(body),
                           from_email=settings.DEFAULT_FROM_EMAIL,
                           to=[delivery.recipient.email],
                           headers={"Message-ID": message_id})  # fmt: skip
    slug = title.replace(" ", "-").replace("/", "-").replace("(", "").replace(")", "")
    message.attach(f"{slug}-{delivery.level}.pdf", bytes(pdf.data), "application/pdf")
    return message

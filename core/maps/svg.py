"""Drawing a server-side map in SVG: the house style, numbers and paths in pixels, text with
a halo, greedy label placement, and the scale bar and north arrow in the corners."""

from collections.abc import Iterable
from xml.sax.saxutils import escape

from core.maps.features import Coords

FONT = "DejaVu Sans, sans-serif"

# Outside Armenia is a neutral grey so that our side of the line reads at a glance.
STYLE = {
    "background": "#e6e8eb",
    "province_fill": "#fbfaf7",
    "sector_fill": "#f4efe2",
    "province_stroke": "#a9a49a",
    "province_label": "#8c8577",
    "border": "#c62828",
    "settlement": "#333333",
    "settlement_label": "#333333",
    "halo": "#ffffff",
    "frame": "#555555",
}


def fmt(value: float) -> str:
    return f"{value:.1f}"


def path_data(project, rings: Iterable[Coords], close: bool) -> str:
    parts = []
    for ring in rings:
        points = [project(x, y) for x, y in ring]
        if not points:
            continue
        parts.append(
            "M" + " L".join(f"{fmt(x)} {fmt(y)}" for x, y in points) + (" Z" if close else "")
        )
    return " ".join(parts)


def halo_text(x, y, content, *, size=10, fill="#333", anchor="start", weight="normal", halo=True):
    """Text with a white halo drawn as a separate stroke-only copy underneath.

    A copy rather than `paint-order`, which not every SVG renderer (WeasyPrint's) supports.
    """
    attrs = (
        f'x="{fmt(x)}" y="{fmt(y)}" font-family="{FONT}" font-size="{size}" '
        f'font-weight="{weight}" text-anchor="{anchor}"'
    )
    body = escape(str(content))
    under = (
        f'<text {attrs} fill="none" stroke="{STYLE["halo"]}" stroke-width="3" '
        f'stroke-linejoin="round">{body}</text>'
        if halo
        else ""
    )
    return f'{under}<text {attrs} fill="{fill}">{body}</text>'


class Labels:
    """Greedy label placement: a label that would overlap one already placed is left out."""

    def __init__(self, width, height):
        self.width, self.height = width, height
        self.boxes = []

    def place(self, x, y, text, size, anchor="start") -> bool:
        w = len(text) * size * 0.6
        left = x - w / 2 if anchor == "middle" else x
        box = (left - 2, y - size, left + w + 2, y + size * 0.3)
        if box[0] < 0 or box[2] > self.width or box[1] < 0 or box[3] > self.height:
            return False
        if any(
            box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in self.boxes
        ):
            return False
        self.boxes.append(box)
        return True

    def reserve(self, x0, y0, x1, y1):
        self.boxes.append((x0, y0, x1, y1))


def _nice_km(target_km: float) -> float:
    for step in (0.5, 1, 2, 5, 10, 20, 25, 50, 100, 200, 500):
        if step >= target_km:
            return step
    return 1000


def scale_bar(project, width, height) -> str:
    km = _nice_km(width * 0.18 / project.pixels_per_km)
    length = km * project.pixels_per_km
    x0, y0 = 14, height - 26
    half = length / 2
    label = f"{km:g} km"
    return (
        f'<g class="scale-bar">'
        f'<rect x="{x0 - 6}" y="{y0 - 16}" width="{fmt(length + 12)}" height="28" '
        f'fill="#ffffff" fill-opacity="0.85" rx="3"/>'
        f'<rect x="{x0}" y="{y0}" width="{fmt(half)}" height="5" fill="#333"/>'
        f'<rect x="{fmt(x0 + half)}" y="{y0}" width="{fmt(half)}" height="5" '
        f'fill="#fff" stroke="#333" stroke-width="1"/>'
        f'<rect x="{x0}" y="{y0}" width="{fmt(length)}" height="5" fill="none" '
        f'stroke="#333" stroke-width="1"/>'
        + halo_text(x0, y0 - 4, "0", size=9, halo=False)
        + halo_text(x0 + length, y0 - 4, label, size=9, anchor="end", halo=False)
        + "</g>"
    )


def north_arrow(width) -> str:
    x, y = width - 26, 14
    return (
        f'<g class="north-arrow">'
        f'<circle cx="{x}" cy="{y + 17}" r="15" fill="#ffffff" fill-opacity="0.85"/>'
        f'<path d="M{x} {y + 4} L{x + 6} {y + 24} L{x} {y + 20} Z" fill="#333"/>'
        f'<path d="M{x} {y + 4} L{x - 6} {y + 24} L{x} {y + 20} Z" fill="#fff" '
        f'stroke="#333" stroke-width="0.8"/>'
        + halo_text(x, y + 44, "N", size=11, anchor="middle", weight="bold")
        + "</g>"
    )

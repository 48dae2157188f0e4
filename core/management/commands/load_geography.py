"""Load the mission's reference geography from core/data/geo (see its SOURCES.md).

Idempotent: rows are matched on their natural keys and only changed rows are written, so a
second run records nothing in the audit trail.
"""

import json
from pathlib import Path

from django.contrib.gis.geos import GEOSGeometry, MultiLineString, MultiPolygon
from django.core.management.base import BaseCommand
from django.db import transaction

from core.audit.context import acting_as
from core.audit.models import AuditEntry
from core.geometry import geometry_checked
from core.models import BorderSegment, ForwardBase, Province, Settlement

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "geo"
SECTORS = {"Tavush", "Gegharkunik", "Vayots Dzor", "Syunik", "Ararat"}
# With the three letters that begin their reports' references (KAP-2026-0142).
FORWARD_BASES = {
    "Kapan": "KAP", "Goris": "GOR", "Jermuk": "JER", "Yeghegnadzor": "YEG", "Martuni": "MAR",
    "Ijevan": "IJE",
}  # fmt: skip


def _features(name):
    with open(DATA_DIR / name, encoding="utf-8") as fh:
        return json.load(fh)["features"]


def _geometry(feature):
    # Through the one geometry entrance, like every other input (core.geometry).
    geom = geometry_checked(
        feature["geometry"],
        kinds=("Point", "LineString", "MultiLineString", "Polygon", "MultiPolygon"),
        field=feature.get("properties", {}).get("name", "geometry"),
    )
    if geom.geom_type == "Polygon":
        geom = MultiPolygon(geom, srid=4326)
    elif geom.geom_type == "LineString":
        geom = MultiLineString(geom, srid=4326)
    return geom


def _upsert(model, lookup, values):
    """Create or update one row; save only when something differs (so nothing is audited twice)."""
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        obj = model(**lookup, **values)
        obj.full_clean()
        obj.save()
        return 1
    changed = False
    for field, value in values.items():
        current = getattr(obj, field)
        same = (
            current.equals_exact(value, 1e-9)
            if isinstance(value, GEOSGeometry) and current is not None
            else current == value
        )
        if not same:
            setattr(obj, field, value)
            changed = True
    if changed:
        obj.full_clean()
        obj.save()
    return int(changed)


class Command(BaseCommand):
    help = "Load provinces, the border, settlements and forward bases (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        with acting_as(client=AuditEntry.Client.COMMAND, client_ref="load_geography"):
            written = self._load()
        self.stdout.write(
            self.style.SUCCESS(
                f"Geography loaded: {Province.objects.count()} provinces "
                f"({Province.objects.filter(is_sector=True).count()} sectors), "
                f"{BorderSegment.objects.count()} border segments, "
                f"{Settlement.objects.count()} settlements, "
                f"{ForwardBase.objects.count()} forward bases; {written} rows written."
            )
        )

    def _load(self):
        written = 0
        for feature in _features("armenia_provinces.geojson"):
            p = feature["properties"]
            written += _upsert(
                Province,
                {"name": p["name"]},
                {
                    "name_hy": p.get("name_hy", ""),
                    "name_ru": p.get("name_ru", ""),
                    "iso_code": p["iso_3166_2"],
                    "is_sector": p["name"] in SECTORS,
                    "area_km2": p.get("area_km2_approx"),
                    "wikidata": p.get("wikidata", ""),
                    "geom": _geometry(feature),
                },
            )
        provinces = {p.name: p for p in Province.objects.all()}

        for feature in _features("armenia_azerbaijan_border.geojson"):
            p = feature["properties"]
            written += _upsert(
                BorderSegment,
                {"segment": p["segment"], "province": provinces[p["am_province"]]},
                {
                    "facing_units": ", ".join(p.get("az_units_ne") or [])[:255],
                    "length_km": p["length_km"],
                    "is_international": p["segment"].startswith("Armenia–Azerbaijan"),
                    "geom": _geometry(feature),
                },
            )

        for feature in _features("border_settlements.geojson"):
            p = feature["properties"]
            written += _upsert(
                Settlement,
                {"name": p["name"]},
                {
                    "province": provinces.get(p.get("province")),
                    "location": _geometry(feature),
                    "population": p.get("population_geonames"),
                    "precision": (p.get("precision") or "")[:64],
                    "source": (p.get("source") or "")[:255],
                    "licence": (p.get("license") or "")[:128],
                },
            )

        for feature in _features("azerbaijan_settlements.geojson"):
            p = feature["properties"]
            written += _upsert(
                Settlement,
                {"name": p["name"]},
                {
                    "province": None,
                    "country": p["country"],
                    "location": _geometry(feature),
                    "precision": (p.get("precision") or "")[:64],
                    "source": (p.get("source") or "")[:255],
                    "licence": (p.get("license") or "")[:128],
                },
            )

        for name, code in FORWARD_BASES.items():
            settlement = Settlement.objects.get(name=name)
            written += _upsert(
                ForwardBase,
                {"name": name},
                {
                    "code": code,
                    "settlement": settlement,
                    "province": settlement.province,
                    "location": settlement.location,
                },
            )
        return written

"""The itinerary documents the parties receive: GPX, PDF, the e-mail, and the map inside them.

They are built from the frozen version alone, so every party gets the same itinerary; the PDF is
checked the way a reader sees it (rendered to pixels and to text with poppler).
"""

import math
import shutil
import subprocess
from datetime import UTC, datetime
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image

from core.maps import BBox, MapLine, MapPoint, render_map_svg
from core.models import Province
from core.tests.factories import UserFactory
from liaison.models import ContactChannel, Party
from patrols.documents import itinerary_gpx, itinerary_message, itinerary_pdf
from patrols.models import ItineraryNotification
from patrols.services.plans import VehicleSpec, WaypointSpec
from patrols.tests.conftest import email_recipient
from patrols.tests.factories import (
    ItineraryNotificationFactory,
    ItineraryVersionFactory,
    PatrolPlanFactory,
)

GPX = "{http://www.topografix.com/GPX/1/1}"
SVG = "{http://www.w3.org/2000/svg}"
YEREVAN = ZoneInfo("Asia/Yerevan")
ACK_URL = "https://mission.example/patrols/ack/tok-123/"

WAYPOINTS = [
    ("Jermuk forward base", 45.66949, 39.84168, datetime(2026, 11, 28, 9, 0)),
    ("Kechut reservoir & dam", 45.64120, 39.80150, datetime(2026, 11, 28, 10, 30)),
    ("Observation point <Hill 2620>", 45.76210, 39.86930, datetime(2026, 11, 28, 12, 15)),
]

pytestmark = pytest.mark.skipif(
    not (shutil.which("pdftotext") and shutil.which("pdftoppm")),
    reason="poppler-utils (pdftotext, pdftoppm) is needed to read the PDF back",
)


@pytest.fixture
def version(users):
    monitors = [UserFactory(username=f"t-jermuk-{n}", roles=["monitor"]) for n in range(3)]
    plan = PatrolPlanFactory(
        team_leader=users["team_leader"],
        author=users["team_leader"],
        purpose="Observe the line of contact east of Jermuk",
        planned_departure=datetime(2026, 11, 28, 8, 45, tzinfo=YEREVAN),
        planned_return=datetime(2026, 11, 28, 16, 0, tzinfo=YEREVAN),
        route=None,  # built from the waypoints
        waypoints=[
            WaypointSpec(name, Point(lon, lat, srid=4326), at.replace(tzinfo=YEREVAN))
            for name, lon, lat, at in WAYPOINTS
        ],
        vehicles=[VehicleSpec("JRM-1", "EU 104 AM"), VehicleSpec("JRM-2", "EU 117 AM")],
        monitors=monitors,
        escort=True,
        escort_unit="Vayots Dzor police",
    )
    return ItineraryVersionFactory(
        plan=plan,
        number=2,
        approved_by=users["coordinator"],
        approved_at=datetime(2026, 11, 20, 11, 3, tzinfo=UTC),
    )


@pytest.fixture
def notifications(version):
    # The two parties come from a data migration; get_or_create survives a flush.
    armenia, _ = Party.objects.get_or_create(
        code="armenia", defaults={"name": "Republic of Armenia", "always_notified": True}
    )
    azerbaijan, _ = Party.objects.get_or_create(
        code="azerbaijan", defaults={"name": "Republic of Azerbaijan", "always_notified": True}
    )

    def notify(party, purpose, addresses):
        channels = [
            ContactChannel.objects.get(contact=email_recipient(party, address), kind="email").pk
            for address in addresses
        ]
        return ItineraryNotificationFactory(
            version=version, party=party, purpose=purpose, recipients=channels
        )

    itinerary = ItineraryNotification.Purpose.ITINERARY
    cancellation = ItineraryNotification.Purpose.CANCELLATION
    return {
        "armenia": notify(armenia, itinerary, ["liaison@mod.am.test", "duty@mfa.am.test"]),
        "azerbaijan": notify(azerbaijan, itinerary, ["liaison@mod.az.test"]),
        "armenia-cancel": notify(armenia, cancellation, ["liaison@mod.am.test"]),
        "azerbaijan-cancel": notify(azerbaijan, cancellation, ["liaison@mod.az.test"]),
    }


def parse_xml(text: str):
    # Our own output, not untrusted input: the standard parser is the right tool here.
    return ET.fromstring(text)  # noqa: S314


def pdf_text(pdf: bytes, tmp_path, name="doc") -> str:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def pdf_pages(pdf: bytes, tmp_path, name="doc") -> list:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(path), str(tmp_path / name)], check=True)
    return sorted(tmp_path.glob(f"{name}-*.png"))


# --- GPX ---------------------------------------------------------------------------------------


def test_gpx_is_gpx_1_1_with_every_waypoint_and_route_vertex(version):
    root = parse_xml(itinerary_gpx(version))

    assert root.tag == f"{GPX}gpx"
    assert root.get("version") == "1.1"
    assert root.findtext(f"{GPX}metadata/{GPX}name") == ("Jermuk patrol 2026-11-28 — itinerary v2")
    wpts = root.findall(f"{GPX}wpt")
    assert [w.findtext(f"{GPX}name") for w in wpts] == [name for name, *_ in WAYPOINTS]
    assert [(float(w.get("lon")), float(w.get("lat"))) for w in wpts] == [
        (lon, lat) for _, lon, lat, _ in WAYPOINTS
    ]
    rtepts = root.findall(f"{GPX}rte/{GPX}rtept")
    assert [(float(p.get("lon")), float(p.get("lat"))) for p in rtepts] == [
        (lon, lat) for _, lon, lat, _ in WAYPOINTS
    ]


def test_gpx_times_are_utc_with_z(version):
    root = parse_xml(itinerary_gpx(version))

    # 09:00, 10:30 and 12:15 in Yerevan (UTC+4) are 05:00, 06:30 and 08:15 UTC.
    assert [w.findtext(f"{GPX}time") for w in root.findall(f"{GPX}wpt")] == [
        "2026-11-28T05:00:00Z",
        "2026-11-28T06:30:00Z",
        "2026-11-28T08:15:00Z",
    ]


def test_gpx_is_built_from_the_frozen_version_not_the_live_plan(version):
    before = itinerary_gpx(version)
    version.plan.waypoints.update(name="Renamed after approval")
    version.plan.purpose = "Changed after approval"
    version.plan.save()

    assert itinerary_gpx(version) == before
    assert "Renamed after approval" not in before


# --- PDF ---------------------------------------------------------------------------------------


def test_pdf_first_page_is_drawn_not_blank(version, tmp_path):
    pages = pdf_pages(itinerary_pdf(version), tmp_path)

    assert pages, "pdftoppm produced no page"
    image = Image.open(pages[0]).convert("L")
    ink = sum(image.histogram()[:200])  # pixels darker than light grey
    assert image.size[0] > 350
    # Text, a map and tables: a blank or near-blank page would be well under 3 % ink.
    assert ink > 0.03 * image.size[0] * image.size[1]


def test_pdf_states_base_version_amendment_waypoints_and_local_times(version, tmp_path):
    text = pdf_text(itinerary_pdf(version), tmp_path)

    assert "Patrol itinerary notification" in text
    assert "Jermuk" in text
    assert "Version 2" in text and "AMENDED" in text and "supersedes version 1" in text
    for name, *_ in WAYPOINTS:
        assert name in text
    assert "Asia/Yerevan" in text
    assert "08:45" in text and "04:45 UTC" in text  # departure, local then UTC
    assert "16:00" in text and "12:00 UTC" in text  # return
    assert "10:30" in text and "12:15" in text  # waypoint times, local
    assert "39.80150° N" in text and "45.64120° E" in text  # 5 decimals
    assert "JRM-1" in text and "EU 117 AM" in text
    assert "Vayots Dzor" in text
    assert version.content_sha256[:16] in text
    assert "Page 1 of" in text


def test_cancellation_pdf_says_cancelled(version, tmp_path):
    text = pdf_text(itinerary_pdf(version, purpose="cancellation"), tmp_path)

    assert "CANCELLED" in text
    assert "will not take place" in text
    assert "AMENDED" not in text


def test_every_party_gets_the_same_gpx_and_the_same_pdf(notifications, tmp_path):
    armenia = itinerary_message(notifications["armenia"], ack_url=ACK_URL + "am/")
    azerbaijan = itinerary_message(notifications["azerbaijan"], ack_url=ACK_URL + "az/")
    (am_pdf_name, am_pdf, _), (am_gpx_name, am_gpx, _) = armenia.attachments
    (az_pdf_name, az_pdf, _), (az_gpx_name, az_gpx, _) = azerbaijan.attachments

    assert (am_pdf_name, am_gpx_name) == (az_pdf_name, az_gpx_name)
    assert am_gpx == az_gpx
    assert pdf_text(am_pdf, tmp_path, "am") == pdf_text(az_pdf, tmp_path, "az")
    am_pages = [p.read_bytes() for p in pdf_pages(am_pdf, tmp_path, "am")]
    az_pages = [p.read_bytes() for p in pdf_pages(az_pdf, tmp_path, "az")]
    assert am_pages == az_pages


# --- E-mail ------------------------------------------------------------------------------------


def test_message_has_subject_recipients_attachments_ack_link_and_stable_id(notifications, settings):
    settings.DEFAULT_FROM_EMAIL = "notifications@mission.example"
    notification = notifications["armenia"]
    message = itinerary_message(notification, ack_url=ACK_URL)
    plan_id = notification.version.plan_id

    assert message.subject == (
        "Patrol itinerary — Jermuk, 28 Nov 2026 — v2 (AMENDED, supersedes v1)"
    )
    assert sorted(message.to) == ["duty@mfa.am.test", "liaison@mod.am.test"]
    assert message.from_email == "notifications@mission.example"
    assert [(name, mimetype) for name, _, mimetype in message.attachments] == [
        ("itinerary-jermuk-2026-11-28-v2.pdf", "application/pdf"),
        ("itinerary-jermuk-2026-11-28-v2.gpx", "application/gpx+xml"),
    ]
    assert message.attachments[0][1].startswith(b"%PDF-")
    assert ACK_URL in message.body
    assert message.body.startswith("Dear Republic of Armenia,")
    assert message.extra_headers["Message-ID"] == (
        f"<itinerary-{plan_id}-v2-armenia-itinerary@missionapp>"
    )
    # The header survives into the MIME message actually sent.
    assert message.message()["Message-ID"] == (
        f"<itinerary-{plan_id}-v2-armenia-itinerary@missionapp>"
    )


def test_message_body_gives_times_waypoints_vehicles_and_every_party(notifications):
    body = itinerary_message(notifications["azerbaijan"], ack_url=ACK_URL).body

    assert "08:45 Asia/Yerevan (04:45 UTC)" in body
    assert "16:00 Asia/Yerevan (12:00 UTC)" in body
    for name, *_ in WAYPOINTS:
        assert name in body
    assert "JRM-1 (plate EU 104 AM)" in body
    assert "AMENDS and supersedes version 1" in body
    assert (
        "The same itinerary is sent to every party concerned: "
        "Republic of Armenia, Republic of Azerbaijan." in body
    )


def test_message_bodies_differ_between_parties_only_in_greeting_and_ack_link(notifications):
    armenia = itinerary_message(notifications["armenia"], ack_url=ACK_URL + "am/").body
    azerbaijan = itinerary_message(notifications["azerbaijan"], ack_url=ACK_URL + "az/").body

    def itinerary_part(body, party, link):
        return body.replace(f"Dear {party},", "").replace(link, "")

    assert armenia != azerbaijan
    assert itinerary_part(armenia, "Republic of Armenia", ACK_URL + "am/") == itinerary_part(
        azerbaijan, "Republic of Azerbaijan", ACK_URL + "az/"
    )


def test_resending_makes_the_same_message_id(notifications):
    first = itinerary_message(notifications["armenia"], ack_url=ACK_URL)
    again = itinerary_message(notifications["armenia"], ack_url=ACK_URL)

    assert first.extra_headers["Message-ID"] == again.extra_headers["Message-ID"]


def test_cancellation_message_carries_only_the_cancellation_pdf(notifications, tmp_path):
    notification = notifications["azerbaijan-cancel"]
    message = itinerary_message(notification, ack_url=ACK_URL)

    assert message.subject == "CANCELLED: patrol itinerary — Jermuk, 28 Nov 2026 — v2"
    assert message.to == ["liaison@mod.az.test"]
    assert [(name, mimetype) for name, _, mimetype in message.attachments] == [
        ("cancellation-jermuk-2026-11-28-v2.pdf", "application/pdf")
    ]
    assert "CANCELLED" in pdf_text(message.attachments[0][1], tmp_path)
    assert "CANCELLED" in message.body and ACK_URL in message.body
    assert message.extra_headers["Message-ID"] == (
        f"<itinerary-{notification.version.plan_id}-v2-azerbaijan-cancellation@missionapp>"
    )


# --- Map ---------------------------------------------------------------------------------------


def test_map_is_valid_svg_with_one_path_per_province_and_the_extra_route(geography):
    route = [(45.66949, 39.84168), (45.64120, 39.80150), (45.76210, 39.86930)]
    svg = render_map_svg(
        layers=[
            MapLine(coords=route, colour="#0b4f9c"),
            MapPoint(lon=45.66949, lat=39.84168, label="Jermuk & co <1>", number=1),
        ]
    )
    root = parse_xml(svg)

    assert root.tag == f"{SVG}svg"
    paths = root.iter(f"{SVG}path")
    classes = [p.get("class", "").split() for p in paths]
    assert sum("province" in c for c in classes) == Province.objects.count()
    assert sum("extra-line" in c for c in classes) == 1
    texts = "".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "Jermuk & co <1>" in texts
    assert "km" in texts and "N" in texts
    assert "Made with Natural Earth; GeoNames (CC BY 4.0)" in texts


def test_map_costs_one_query_per_base_layer_whatever_the_features(geography):
    many = [MapPoint(lon=45.0 + i / 100, lat=40.0, label=f"Incident {i}") for i in range(50)]

    with CaptureQueriesContext(connection) as queries:
        render_map_svg(layers=many)

    assert len(queries) == 3


def test_map_frames_the_features_with_a_margin_and_at_least_20_km():
    kx = 111.195 * math.cos(math.radians(39.84))  # km per degree of longitude there

    one_point = BBox(45.67, 39.84, 45.67, 39.84).padded()
    assert (one_point.east - one_point.west) * kx == pytest.approx(20)
    assert (one_point.north - one_point.south) * 111.195 == pytest.approx(20)

    wide = BBox(45.0, 39.6, 46.0, 40.1).padded()
    assert wide.west == pytest.approx(44.85) and wide.east == pytest.approx(46.15)
    assert wide.south == pytest.approx(39.525) and wide.north == pytest.approx(40.175)

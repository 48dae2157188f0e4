"""The photo location policy, both ends: the tablet (static/tablet/photos.js, in Chromium)
and the server (reports.services.attachments.jpeg_without_location) make the same bytes of
the same original, so a tablet's file passes the server unchanged under its own hash, and
neither keeps the camera's position (EXIF GPS, XMP) in any of the cases below."""

import io
from pathlib import Path

import pytest
from django.conf import settings
from PIL import Image

from reports.services.attachments import jpeg_without_location

# Pillow warns reading the GPS value said to lie past its segment: that case's point.
pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore:Truncated File Read")]

PHOTOS_JS = Path(settings.BASE_DIR) / "static" / "tablet" / "photos.js"
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
    b'22-rdf-syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    b'exif:GPSLatitude="39,32.88N" exif:GPSLongitude="46,20.30E"/></rdf:RDF></x:xmpmeta>'
)


def photo(gps=True, xmp=False, exif=True, little_endian=False):
    image = Image.effect_noise((120, 90), 40).convert("RGB")
    tags = Image.Exif()
    tags[0x010F] = "TabletCam"
    tags[0x0112] = 6
    if gps:
        position = tags.get_ifd(0x8825)
        position.update({1: "N", 2: (39.0, 32.0, 53.0), 3: "E", 4: (46.0, 20.0, 18.0)})
        position[29] = "2026:12:07"  # GPSDateStamp: a value stored apart
    out = io.BytesIO()
    image.save(out, "JPEG", **({"exif": tags.tobytes()} if exif else {}))
    data = out.getvalue()  # Pillow writes its EXIF in Motorola order ("MM")
    if little_endian:
        data = _with_exif(data, b"Exif\x00\x00" + _intel_tiff())
    if xmp:
        payload = b"http://ns.adobe.com/xap/1.0/\x00" + XMP
        data = data[:2] + b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload + data[2:]
    return data


def _with_exif(data, segment):
    start = data.index(b"Exif\x00\x00") - 4
    length = int.from_bytes(data[start + 2 : start + 4], "big")
    app1 = b"\xff\xe1" + (len(segment) + 2).to_bytes(2, "big") + segment
    return data[:start] + app1 + data[start + 2 + length :]


def _intel_tiff():
    """A minimal Intel-order ("II") TIFF block, as many cameras write it: IFD0 (Make and the
    GPS pointer) and a GPS directory (latitude reference and latitude)."""

    def n(value, size):
        return value.to_bytes(size, "little")

    def entry(tag, kind, count, value):
        return n(tag, 2) + n(kind, 2) + n(count, 4) + value

    make = b"TabletCam\x00"
    gps_at = 8 + 2 + 2 * 12 + 4
    make_at = gps_at + 2 + 2 * 12 + 4
    latitude_at = make_at + len(make)
    ifd0 = n(2, 2) + entry(0x010F, 2, len(make), n(make_at, 4))
    ifd0 += entry(0x8825, 4, 1, n(gps_at, 4)) + n(0, 4)
    gps = n(2, 2) + entry(1, 2, 2, b"N\x00\x00\x00") + entry(2, 5, 3, n(latitude_at, 4)) + n(0, 4)
    latitude = b"".join(n(value, 4) + n(1, 4) for value in (39, 32, 53))
    return b"II*\x00" + n(8, 4) + ifd0 + gps + make + latitude


def _gps_entry(data):
    """(byte order, offset of the TIFF header, offset of IFD0's GPS pointer entry)."""
    tiff = data.index(b"Exif\x00\x00") + 6
    order = "big" if data[tiff : tiff + 2] == b"MM" else "little"
    return order, tiff, data.index((0x8825).to_bytes(2, order), tiff)


def damaged(data):
    """An EXIF whose GPS pointer points past the segment's end."""
    order, _, at = _gps_entry(data)
    return data[: at + 8] + (0x7FFFFFF0).to_bytes(4, order) + data[at + 12 :]


def value_beyond(data):
    """An EXIF whose GPS latitude (a value stored apart) is said to lie past the segment."""
    order, tiff, at = _gps_entry(data)
    gps = tiff + int.from_bytes(data[at + 8 : at + 12], order)
    for index in range(int.from_bytes(data[gps : gps + 2], order)):
        entry = gps + 2 + 12 * index
        if int.from_bytes(data[entry : entry + 2], order) == 2:  # GPSLatitude
            return data[: entry + 8] + (60000).to_bytes(4, order) + data[entry + 12 :]
    raise AssertionError("no GPSLatitude")


CASES = {
    "a position in EXIF": photo(),
    "a position in EXIF and XMP": photo(xmp=True),
    "an Intel-order EXIF": photo(little_endian=True),
    "no position": photo(gps=False),
    "no EXIF at all": photo(exif=False),
}
CASES["a damaged EXIF"] = damaged(CASES["a position in EXIF"])
CASES["a GPS value past the segment"] = value_beyond(CASES["a position in EXIF"])


def tablet_strips(page, data):
    return bytes(page.evaluate("bytes => Array.from(TabletPhotos.jpegWithoutLocation("
                               "new Uint8Array(bytes)))", list(data)))  # fmt: skip


def has_position(data):
    if b"ns.adobe.com/xap" in data or b"GPSLatitude" in data:
        return True
    with Image.open(io.BytesIO(data)) as image:
        return bool(image.getexif().get_ifd(0x8825))


def test_the_tablet_and_the_server_remove_the_position_alike(page):
    page.set_content("<!doctype html><title>photos</title>")
    page.add_script_tag(content=PHOTOS_JS.read_text())
    for name in ("a position in EXIF", "a position in EXIF and XMP", "an Intel-order EXIF",
                 "a GPS value past the segment"):  # fmt: skip
        assert has_position(CASES[name]), name
    for name, data in CASES.items():
        on_server = jpeg_without_location(data)
        assert tablet_strips(page, data) == on_server, name
        assert not has_position(on_server), name
        assert jpeg_without_location(on_server) == on_server, name  # a tablet's file passes
        with Image.open(io.BytesIO(on_server)) as image:
            image.load()  # still a photo
            exif = image.getexif()
            if name not in ("no EXIF at all", "a damaged EXIF"):
                assert exif[0x010F] == "TabletCam", name  # the rest of the EXIF stays
        if name in (
            "a position in EXIF",
            "an Intel-order EXIF",
            "no position",
            "a GPS value past the segment",
        ):
            assert len(on_server) == len(data), name  # blanked in place
    assert jpeg_without_location(CASES["no position"]) == CASES["no position"]

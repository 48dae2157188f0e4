"""The photo location policy against files shaped to slip past the in-place blanking
(reports.services.attachments.without_location): no stored original keeps a position."""

import io
import zlib

from PIL import Image

from reports.services.attachments import without_location
from reports.tests.test_report_attachments import jpeg_with_gps


def _position(data: bytes) -> dict:
    with Image.open(io.BytesIO(data)) as image:
        return dict(image.getexif().get_ifd(0x8825))


def test_a_fill_byte_before_the_exif_segment_does_not_keep_the_position():
    data = jpeg_with_gps()
    shaped = data[:2] + b"\xff" + data[2:]  # FF D8, a fill byte, then FF E1 ...
    assert _position(shaped)  # Pillow still reads the position there
    stored = without_location(shaped, "image/jpeg")
    assert _position(stored) == {}
    Image.open(io.BytesIO(stored)).load()  # still a picture


def test_a_second_picture_appended_after_the_end_is_dropped_with_its_position():
    plain = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(plain, "JPEG")
    shaped = plain.getvalue() + jpeg_with_gps()
    stored = without_location(shaped, "image/jpeg")
    assert b"Exif" not in stored and stored == plain.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return (len(body).to_bytes(4, "big") + kind + body
            + zlib.crc32(kind + body).to_bytes(4, "big"))  # fmt: skip


def test_a_png_with_the_position_in_a_text_chunk_is_saved_again_without_it():
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (0, 200, 0)).save(out, "PNG")
    png = out.getvalue()
    text = _chunk(b"tEXt", b"GPSLatitude\x0039.5481 N 46.5311 E")
    shaped = png[:33] + text + png[33:]  # after the IHDR chunk
    stored = without_location(shaped, "image/png")
    assert b"GPSLatitude" not in stored and b"39.5481" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.size == (32, 32) and not getattr(image, "text", {})

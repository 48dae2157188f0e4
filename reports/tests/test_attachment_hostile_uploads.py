"""Hostile uploads: a photo too large to decode is refused from its header, naming the field
and the limit; a file is stored under its hash and the type found in its bytes, whatever its
name; and what a client sent is served so that it can never run in our origin."""

import hashlib
import io
import struct
import zlib
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from reports.models import Attachment
from reports.services.attachments import read_capped
from reports.tests.test_report_attachments import media as media  # noqa: F401  (fixtures)
from reports.tests.test_report_attachments import report as report  # noqa: F401
from reports.tests.test_report_attachments import upload
from reports.tests.test_report_filing_api import as_user

pytestmark = pytest.mark.django_db
SANDBOX = "sandbox; default-src 'none'"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int, height: int) -> bytes:
    """A valid black-and-white PNG of width x height: a few hundred kilobytes on the wire
    that Pillow would decode to width x height bytes (400 MB for 20000 x 20000)."""
    row = b"\x00" + b"\x00" * ((width + 7) // 8)  # filter byte, then 1 bit per pixel
    squeeze = zlib.compressobj(9)
    rows = 1000
    body = b"".join(squeeze.compress(row * rows) for _ in range(height // rows))
    body += squeeze.compress(row * (height % rows)) + squeeze.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body)
            + _chunk(b"IEND", b""))  # fmt: skip


def png(width=64, height=48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 90, 160)).save(out, "PNG")
    return out.getvalue()


def file_url(report_uuid, sha256, variant):
    return reverse("api-incident-report-attachment-file", args=[report_uuid, sha256, variant])


@pytest.mark.parametrize("side", [20000, 13000])
def test_a_photo_over_the_pixel_limit_is_refused_from_its_header(users, report, side):  # noqa: F811
    bomb = png_bomb(side, side)
    assert len(bomb) < 2 * 1024 * 1024  # small on the wire: the size limit cannot catch it

    response = upload(as_user(users["monitor"]), report, bomb, name="map.png")

    assert response.status_code == 400
    [message] = response.json()["errors"]["file"]
    assert f"{side * side // 1_000_000} MP" in message and "at most 40 MP" in message
    assert Attachment.objects.count() == 0
    # Decoding 13000 x 13000 took 2.6 s (and 20000 x 20000 answered 500): that only the
    # header is read is shown by the next test, whose pixel data is cut away.


def test_the_pixel_limit_is_checked_before_decoding_a_single_pixel(users, report):  # noqa: F811
    """The bomb's pixel data is cut short: decoding it would fail as "damaged"; refused on
    its size instead, the header is all that was read."""
    bomb = png_bomb(20000, 20000)
    cut = bomb[:200] + bomb[-12:]
    response = upload(as_user(users["monitor"]), report, cut, name="map.png")
    assert response.status_code == 400
    assert "at most 40 MP" in response.json()["errors"]["file"][0]


def test_the_pixel_limit_is_a_setting_and_pillow_is_held_to_it(users, report, settings):  # noqa: F811
    from PIL import Image as PillowImage

    assert PillowImage.MAX_IMAGE_PIXELS == settings.ATTACHMENT_MAX_PIXELS == 40_000_000
    settings.ATTACHMENT_MAX_PIXELS = 1000 * 1000
    client = as_user(users["monitor"])
    over = upload(client, report, png(1001, 1000))
    assert over.status_code == 400
    assert "1001 x 1000 pixels" in over.json()["errors"]["file"][0]
    assert upload(client, report, png(1000, 1000)).status_code == 201


def test_a_photo_cut_short_is_refused_naming_the_file(users, report):  # noqa: F811
    out = io.BytesIO()
    Image.effect_noise((800, 600), 64).convert("RGB").save(out, "JPEG")
    cut = out.getvalue()[: len(out.getvalue()) // 2]
    response = upload(as_user(users["monitor"]), report, cut, name="photo.jpg")
    assert response.status_code == 400
    assert "cut short" in response.json()["errors"]["file"][0]
    assert Attachment.objects.count() == 0


def test_a_file_is_stored_under_its_hash_and_detected_type_never_its_name(users, report):  # noqa: F811
    client, data = as_user(users["monitor"]), png()
    sent = SimpleUploadedFile("invoice.html", data, content_type="text/html")
    response = client.post(
        reverse("api-incident-report-attachments", args=[report]),
        {"file": sent, "sha256": hashlib.sha256(data).hexdigest()}, format="multipart",
    )  # fmt: skip
    assert response.status_code == 201
    assert response.json()["content_type"] == "image/png"  # from the bytes, not the header
    attachment = Attachment.objects.get()
    sha = hashlib.sha256(data).hexdigest()
    assert Path(attachment.original.name).name == f"{sha}.png"
    assert Path(attachment.display.name).name == f"{sha}.jpg"
    assert attachment.original_name == "invoice.html"  # kept as a label only
    assert not list(Path(settings.MEDIA_ROOT).rglob("*.html"))


def test_a_web_page_is_not_accepted_whatever_it_is_called(users, report):  # noqa: F811
    page = b"<!doctype html><html><script>fetch('/api/me/')</script></html>"
    response = upload(as_user(users["monitor"]), report, page, name="photo.jpg")
    assert response.status_code == 400
    assert "Only photos" in response.json()["errors"]["file"][0]


def test_a_pdf_that_is_also_a_web_page_is_only_ever_downloaded(users, report):  # noqa: F811
    polyglot = (b"%PDF-1.4\n<html><body><script>document.title='owned'</script></body></html>\n"
                b"1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF")  # fmt: skip
    client = as_user(users["monitor"])
    sha = upload(client, report, polyglot, name="statement.html").json()["sha256"]
    client.post(reverse("api-incident-report-submit", args=[report]))
    assert Path(Attachment.objects.get().original.name).suffix == ".pdf"

    for variant in ("display", "original"):
        response = as_user(users["duty_officer"]).get(file_url(report, sha, variant))
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["Content-Disposition"].endswith(f'-{variant}.pdf"')
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Security-Policy"] == SANDBOX


def test_only_photos_we_reencoded_are_shown_inline(users, report):  # noqa: F811
    client, data = as_user(users["monitor"]), png()
    sha = upload(client, report, data).json()["sha256"]
    client.post(reverse("api-incident-report-submit", args=[report]))
    officer = as_user(users["duty_officer"])
    for variant in ("display", "thumbnail"):
        response = officer.get(file_url(report, sha, variant))
        assert response["Content-Type"] == "image/jpeg"
        assert response["Content-Disposition"].startswith("inline;")
        assert response["Content-Security-Policy"] == SANDBOX
        assert response["X-Content-Type-Options"] == "nosniff"
    original = officer.get(file_url(report, sha, "original"))
    assert original["Content-Type"] == "image/png"
    assert original["Content-Disposition"].startswith("attachment;")
    assert original["Content-Security-Policy"] == SANDBOX


def test_a_body_over_the_file_limit_is_refused_by_its_length(users, report, settings):  # noqa: F811
    settings.ATTACHMENT_MAX_BYTES = 100 * 1024
    data = bytes(300 * 1024)
    response = upload(as_user(users["monitor"]), report, data, name="photo.jpg")
    assert response.status_code == 413
    body = response.json()
    assert body["code"] == "request_too_large"
    assert "0.1 MB" in body["errors"]["file"][0]
    assert Attachment.objects.count() == 0


def test_reading_an_upload_stops_at_the_limit():
    class Upload:
        read_chunks = 0

        def chunks(self):
            for _ in range(1000):  # 64 MB if it were all read
                self.read_chunks += 1
                yield bytes(64 * 1024)

    upload_ = Upload()
    with pytest.raises(ValidationError) as refused:
        read_capped(upload_, 200 * 1024)
    assert "file" in refused.value.message_dict
    assert upload_.read_chunks == 4  # the fourth chunk crossed the limit; nothing more read

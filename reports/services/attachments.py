"""Attachments of incident reports: photos and PDFs a report's author sends from the tablet.

Checked by their content (never their name or declared type), stored once per (report,
SHA-256) whatever the network does, photos re-encoded without their metadata into the
display and thumbnail copies the pages show; the original is kept for duty officers.
"""

import hashlib
import io
import logging
import re
import struct

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from PIL import Image, ImageOps, UnidentifiedImageError

from core.models import User
from reports.models import STORED_EXTENSIONS, Attachment, IncidentReport
from reports.selectors import incident_report_require_author

log = logging.getLogger(__name__)
IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# Pillow parses hostile bytes: a corrupt or truncated file may raise any of these (and
# DecompressionBombError past MAX_IMAGE_PIXELS). Each is the sender's error, never a 500.
PILLOW_ERRORS = (
    UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError,
    EOFError, IndexError, TypeError, KeyError, struct.error, ZeroDivisionError,
)  # fmt: skip
NOT_ACCEPTED = "Only photos (JPEG, PNG, WebP) and PDF documents can be attached."


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:.0f} MP" if pixels >= 1_000_000 else f"{pixels:,} pixels"


def _sniff(data: bytes) -> tuple[str, str]:
    """(kind, content type) from the bytes themselves, never from the name or the header.

    An image's size is read from its header and checked against ATTACHMENT_MAX_PIXELS
    before anything decodes its pixels (a 20000 x 20000 PNG is a few hundred kilobytes that
    decode to 1.6 GB)."""
    if data.startswith(b"%PDF-"):
        return Attachment.Kind.PDF, "application/pdf"
    try:
        with Image.open(io.BytesIO(data)) as image:  # reads the header only
            fmt, (width, height) = image.format, image.size
            if fmt in IMAGE_FORMATS:
                _check_pixels(width, height)
                image.verify()
    except ValidationError:
        raise
    except Image.DecompressionBombError as exc:
        # Pillow's own limit (reports.apps: the same pixel budget) refuses past twice it
        # while opening, before our check could read the size: say the same.
        pixels = re.search(r"\((\d+) pixels\)", str(exc))
        raise ValidationError({"file": [_over_pixels(int(pixels[1]) if pixels else None)]}) from exc
    except PILLOW_ERRORS as exc:
        raise ValidationError({"file": [NOT_ACCEPTED]}) from exc
    if fmt not in IMAGE_FORMATS:
        raise ValidationError({"file": [f"{fmt} images cannot be attached; send a JPEG or PNG."]})
    return Attachment.Kind.IMAGE, IMAGE_FORMATS[fmt]


def _check_pixels(width: int, height: int):
    if width * height > settings.ATTACHMENT_MAX_PIXELS:
        raise ValidationError({"file": [_over_pixels(width * height, f"{width} x {height}")]})


def _over_pixels(pixels: int | None, dimensions: str = "") -> str:
    limit = _megapixels(settings.ATTACHMENT_MAX_PIXELS)
    size = f"{dimensions} pixels, {_megapixels(pixels)}" if dimensions else (
        _megapixels(pixels) if pixels else f"more than {limit}"
    )  # fmt: skip
    return (f"The photo is too large ({size}): at most {limit} are accepted "
            "(ATTACHMENT_MAX_MEGAPIXELS). Send it at a lower resolution.")  # fmt: skip


def _reencode(data: bytes, longest: int) -> bytes:
    """A JPEG copy without any metadata (no EXIF: no camera position), upright, bounded."""
    with Image.open(io.BytesIO(data)) as image:
        # A JPEG decodes straight at a fraction of its size (1/2 .. 1/8) when only a smaller
        # copy is wanted: a tenth of the time and memory for a thumbnail.
        image.draft("RGB", (longest, longest))
        image = ImageOps.exif_transpose(image).convert("RGB")
        image.thumbnail((longest, longest))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=85, optimize=True)  # no exif= argument: stripped
        return out.getvalue()


def _reencoded(data: bytes, longest: int) -> bytes:
    try:
        return _reencode(data, longest)
    except PILLOW_ERRORS as exc:
        # verify() reads the structure, not every pixel: a photo cut short is found here.
        raise ValidationError(
            {"file": ["The photo cannot be read to the end (damaged or cut short): resend it."]}
        ) from exc


# --- The photo location policy (README, "Photos on a weak link") -----------------------------
# A stored original never carries where the camera was: the report holds the observer's
# position, under need-to-know and rounded in releasable files; a photo's GPS would bypass
# both. The rest of the camera's EXIF (time, camera, orientation) stays. A JPEG cannot be
# re-saved without re-encoding it, so its GPS directory is blanked in place (the same bytes
# the tablet writes itself, static/tablet/photos.js: a tablet's file passes unchanged) and
# its XMP segments, which may repeat the position, are dropped. PNG and WebP are re-saved
# losslessly without metadata when they carry any.
GPS_IFD = 0x8825
XMP_PREFIXES = (b"http://ns.adobe.com/xap/1.0/\x00", b"http://ns.adobe.com/xmp/extension/\x00")
TIFF_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}


def _blank_gps(segment: bytearray, tiff: int) -> None:
    """Zero the GPS directory of the EXIF whose TIFF header starts at `tiff` in `segment`
    (its entries and the values they point to), leaving an empty directory: same length."""
    order = {b"II": "little", b"MM": "big"}.get(bytes(segment[tiff : tiff + 2]))
    if order is None:
        return

    def number(at, size):
        if at < 0 or at + size > len(segment):
            raise IndexError(at)
        return int.from_bytes(segment[at : at + size], order)

    ifd0 = tiff + number(tiff + 4, 4)
    gps = None
    for index in range(number(ifd0, 2)):
        entry = ifd0 + 2 + 12 * index
        if number(entry, 2) == GPS_IFD:
            gps = tiff + number(entry + 8, 4)
    if gps is None:
        return
    count = number(gps, 2)
    for index in range(count):
        entry = gps + 2 + 12 * index
        size = TIFF_TYPE_SIZES.get(number(entry + 2, 2), 1) * number(entry + 4, 4)
        if size > 4:  # the value lies elsewhere: zero it, as far as the segment goes
            start = tiff + number(entry + 8, 4)
            stop = min(start + size, len(segment))
            if start < stop:
                segment[start:stop] = bytes(stop - start)
        segment[entry : entry + 12] = bytes(12)
    segment[gps : gps + 2] = bytes(2)
    # With no entries, the next-directory offset is read where the first entry was: zeroed.


def jpeg_without_location(data: bytes) -> bytes:
    """The JPEG with its EXIF GPS directory blanked and its XMP segments removed; the
    picture's bytes untouched. Unchanged when it carries neither."""
    if not data.startswith(b"\xff\xd8"):
        return data
    out, at = bytearray(data[:2]), 2
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        if marker == 0xDA or marker == 0xD9:  # start of scan: the rest is the picture
            break
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        segment = bytearray(data[at : at + 2 + length])
        payload = bytes(segment[4:])
        if marker == 0xE1 and payload.startswith(XMP_PREFIXES):
            at += 2 + length
            continue
        if marker == 0xE1 and payload.startswith(b"Exif\x00\x00"):
            try:
                _blank_gps(segment, 4 + 6)
            except IndexError:  # a damaged EXIF: drop it rather than keep what it may hold
                at += 2 + length
                continue
        out += segment
        at += 2 + length
    return bytes(out + data[at:])


def without_location(data: bytes, content_type: str) -> bytes:
    """An original as stored: without the camera's position (the policy above).

    A file the in-place blanking cannot vouch for is re-encoded without any metadata: a
    JPEG with pictures appended after its end (a second image's EXIF, as multi-picture files
    carry), or one where a position is still read after the blanking (fill bytes before its
    segments); a PNG or WebP with any EXIF, XMP or text chunk (a "Raw profile type exif"
    holds a position too).
    """
    if content_type == "image/jpeg":
        out = _first_picture(jpeg_without_location(data))
        return _without_metadata(out) if _position_left(out) else out
    if content_type not in ("image/png", "image/webp"):
        return data
    with Image.open(io.BytesIO(data)) as image:
        text = getattr(image, "text", None) or {}
        if not (
            image.info.get("exif") or image.info.get("xmp") or "XML:com.adobe.xmp" in image.info
            or text or len(image.getexif())
        ):  # fmt: skip
            return data
        image.load()
        out = io.BytesIO()
        if content_type == "image/png":
            image.save(out, "PNG")  # no exif=, no pnginfo=: no metadata
        else:
            image.save(out, "WEBP", lossless=True, exact=True)
        return out.getvalue()


def _first_picture(data: bytes) -> bytes:
    """The JPEG up to the end of its first picture: what follows its end-of-image marker
    (more pictures, their EXIF among them) is dropped. In the entropy-coded data every 0xFF
    is escaped, so the first FF D9 after the first start-of-scan ends the picture."""
    scan = data.find(b"\xff\xda")
    end = data.find(b"\xff\xd9", scan) if scan != -1 else -1
    return data[: end + 2] if end != -1 else data


def _position_left(data: bytes) -> bool:
    try:
        with Image.open(io.BytesIO(data)) as image:
            return bool(image.getexif().get_ifd(0x8825))
    except Exception:  # noqa: BLE001 (unreadable here: the decoding checks decide later)
        return False


def _without_metadata(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        out = io.BytesIO()
        image.save(out, "JPEG", quality=95)  # no exif=: no metadata at all
        return out.getvalue()


EXTENSIONS = STORED_EXTENSIONS


def _jpeg_complete(data: bytes) -> bool:
    """Whether the JPEG's image data ends with its end-of-image marker. libjpeg pads a stream
    that stops early and decodes it without an error (at a reduced scale, often not even a
    warning): a photo cut in half would be stored grey at the bottom. In the entropy-coded
    data every 0xFF byte is escaped, so an FF D9 after the last start-of-scan is the end."""
    last_scan = data.rfind(b"\xff\xda")
    return last_scan != -1 and data.find(b"\xff\xd9", last_scan) != -1


def read_capped(upload, limit: int) -> bytes:
    """The uploaded file's bytes, refusing it as soon as it proves larger than `limit`
    (read in chunks: never more than the limit and one chunk held)."""
    chunks, size = [], 0
    for chunk in upload.chunks():
        size += len(chunk)
        if size > limit:
            raise ValidationError({"file": [_too_large(limit)]})
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> str:
    return f"The file is larger than {limit // (1024 * 1024)} MB (ATTACHMENT_MAX_MB)."


def attachment_store(
    *, report: IncidentReport, by: User, data: bytes, name: str, declared_sha256: str
) -> tuple[Attachment, bool]:
    """Store a file of a report once. Returns (attachment, created).

    The tablet sends the SHA-256 it computed: a mismatch means the upload was cut or altered
    and is refused (resend it). The same (report, hash) again returns the stored attachment.
    """
    incident_report_require_author(user=by, report=report, doing="attach files to it")
    if len(data) > settings.ATTACHMENT_MAX_BYTES:
        raise ValidationError({"file": [_too_large(settings.ATTACHMENT_MAX_BYTES)]})
    if not data:
        raise ValidationError({"file": ["The file is empty."]})
    sha256 = hashlib.sha256(data).hexdigest()
    if declared_sha256.lower() != sha256:
        raise ValidationError(
            {"sha256": ["The file arrived incomplete or altered (its SHA-256 differs): resend."]}
        )
    existing = Attachment.objects.filter(report=report, sha256=sha256).first()
    if existing is not None:
        return existing, False
    kind, content_type = _sniff(data)
    if kind == Attachment.Kind.IMAGE:
        # Named by what the client sent (a resend finds it, and the tablet checks that name);
        # stored without the camera's position, which a tablet's own file already is.
        try:
            data = without_location(data, content_type)
        except PILLOW_ERRORS as exc:
            raise ValidationError({"file": [NOT_ACCEPTED]}) from exc
    attachment = Attachment(
        report=report, sha256=sha256, kind=kind, content_type=content_type, size=len(data),
        original_name=(name or "")[:255], uploaded_by=by,
    )  # fmt: skip
    copies = {}
    if content_type == "image/jpeg" and not _jpeg_complete(data):
        raise ValidationError(
            {"file": ["The photo cannot be read to the end (damaged or cut short): resend it."]}
        )
    if kind == Attachment.Kind.IMAGE:  # made before anything is written: a bad photo leaves none
        display = _reencoded(data, settings.ATTACHMENT_DISPLAY_PX)
        # From the display copy (upright, a few megapixels), not the original again.
        copies = {"display": display,
                  "thumbnail": _reencoded(display, settings.ATTACHMENT_THUMBNAIL_PX)}  # fmt: skip
    # Stored as <hash>.<detected type> (reports.models.attachment_path): the client's name
    # is kept only as `original_name`, a label.
    attachment.original.save(f"original.{EXTENSIONS[content_type]}", ContentFile(data),
                              save=False)  # fmt: skip
    for variant, copy in copies.items():
        getattr(attachment, variant).save(f"{variant}.jpg", ContentFile(copy), save=False)
    try:
        with transaction.atomic():
            attachment.save()
    except IntegrityError:
        # A concurrent resend stored it first: answer with that one, drop our files. Not its
        # files: an object store (S3) has no create-if-absent, so both may have written the
        # same names (the same bytes), where a filesystem gave ours another name.
        stored = Attachment.objects.get(report=report, sha256=sha256)
        kept = {stored.original.name, stored.display.name, stored.thumbnail.name}
        for field in (attachment.original, attachment.display, attachment.thumbnail):
            if field and field.name not in kept:
                field.delete(save=False)
        return stored, False
    return attachment, True

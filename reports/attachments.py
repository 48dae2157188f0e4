"""Attachments of incident reports: checked by content, stored once, photos re-encoded."""

import hashlib
import io
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from PIL import Image, ImageOps, UnidentifiedImageError

from core.models import User
from reports.models import Attachment, IncidentReport
from reports.selectors import incident_report_require_author

log = logging.getLogger(__name__)
IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


def _sniff(data: bytes) -> tuple[str, str]:
    """(kind, content type) from the bytes themselves, never from the name or the header."""
    if data.startswith(b"%PDF-"):
        return Attachment.Kind.PDF, "application/pdf"
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            fmt = image.format
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValidationError(
            {"file": ["Only photos (JPEG, PNG, WebP) and PDF documents can be attached."]}
        ) from exc
    if fmt not in IMAGE_FORMATS:
        raise ValidationError({"file": [f"{fmt} images cannot be attached; send a JPEG or PNG."]})
    return Attachment.Kind.IMAGE, IMAGE_FORMATS[fmt]


def _reencode(data: bytes, longest: int) -> bytes:
    """A JPEG copy without any metadata (no EXIF: no camera position), upright, bounded."""
    with Image.open(io.BytesIO(data)) as image:
        image = ImageOps.exif_transpose(image).convert("RGB")
        image.thumbnail((longest, longest))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=85, optimize=True)  # no exif= argument: stripped
        return out.getvalue()


def attachment_store(
    *, report: IncidentReport, by: User, data: bytes, name: str, declared_sha256: str
) -> tuple[Attachment, bool]:
    """Store a file of a report once. Returns (attachment, created).

    The tablet sends the SHA-256 it computed: a mismatch means the upload was cut or altered
    and is refused (resend it). The same (report, hash) again returns the stored attachment.
    """
    incident_report_require_author(user=by, report=report, doing="attach files to it")
    if len(data) > settings.ATTACHMENT_MAX_BYTES:
        limit = settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)
        raise ValidationError({"file": [f"The file is larger than {limit} MB."]})
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
    attachment = Attachment(
        report=report, sha256=sha256, kind=kind, content_type=content_type, size=len(data),
        original_name=(name or "")[:255], uploaded_by=by,
    )  # fmt: skip
    attachment.original.save(name or "file", ContentFile(data), save=False)
    if kind == Attachment.Kind.IMAGE:
        attachment.display.save("display.jpg",
                                ContentFile(_reencode(data, settings.ATTACHMENT_DISPLAY_PX)),
                                save=False)  # fmt: skip
        attachment.thumbnail.save("thumbnail.jpg",
                                  ContentFile(_reencode(data, settings.ATTACHMENT_THUMBNAIL_PX)),
                                  save=False)  # fmt: skip
    try:
        with transaction.atomic():
            attachment.save()
    except IntegrityError:
        # A concurrent resend stored it first: answer with that one, drop our files.
        for field in (attachment.original, attachment.display, attachment.thumbnail):
            if field:
                field.delete(save=False)
        return Attachment.objects.get(report=report, sha256=sha256), False
    return attachment, True

"""Resumable uploads of a report's photos, in parts, over a link that drops.

The tablet asks for an upload of one file (its size and SHA-256), is told how many bytes the
server already holds, and sends the rest in parts at that offset. The server keeps the bytes
received so far in a partial file (PHOTO_UPLOAD_PARTIAL_DIR) and only ever a prefix of the
file: a part that starts beyond it is refused with the offset to send from, a part that
overlaps it is trimmed to what is new. The last byte checks the SHA-256 and makes the
attachment through `attachment_store` (stored once per (report, SHA-256)); a part sent again
after that is answered with the same attachment.

No lock is held across a request: bytes are written at their offset (the same bytes at the
same place, whoever writes them) and `received` moves forward only by a conditional update
from the offset the part was written at. Two racing senders of one part: one moves it, the
other is told the new offset. A file that arrives altered all the same is caught by its
SHA-256 and its upload starts again from byte 0.

Uploads are not audited: the attachment they make is (a row per part would be noise).
"""

import hashlib
import os
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from core.models import User
from core.pages import security_log
from reports.models import Attachment, IncidentReport, PhotoUpload
from reports.selectors import incident_report_require_author
from reports.services.attachments import attachment_store

DOING = "upload files to it"


class UploadGap(Exception):
    """A part starting beyond the bytes the server holds: send from `received`."""

    def __init__(self, upload: PhotoUpload):
        super().__init__(upload.received)
        self.upload = upload


def partial_path(upload: PhotoUpload) -> Path:
    # Named by the upload's identity, not its row id (SQLite may give a purged row's id again).
    return Path(settings.PHOTO_UPLOAD_PARTIAL_DIR) / f"{upload.report.uuid}-{upload.sha256}.part"


def _size_limit() -> int:
    return settings.ATTACHMENT_MAX_BYTES


@transaction.atomic
def photo_upload_start(
    *,
    report: IncidentReport,
    by: User,
    sha256: str,
    size: int,
    content_type: str = "",
    name: str = "",
    original: bool = False,
) -> tuple[PhotoUpload, bool]:
    """Begin (or find again) the upload of one file of `report`. Returns (upload, created).

    Preconditions: `by` is the report's author; 0 < size <= ATTACHMENT_MAX_MB. The same
    (report, SHA-256) again returns the upload as it stands, with the bytes held so far, or
    complete with its attachment; a different size for it is refused.
    """
    incident_report_require_author(user=by, report=report, doing=DOING)
    sha256 = sha256.lower()
    limit = _size_limit()
    if size <= 0:
        raise ValidationError({"size": ["The file is empty."]})
    if size > limit:
        raise ValidationError(
            {"size": [f"The file is larger than {limit // (1024 * 1024)} MB (ATTACHMENT_MAX_MB)."]}
        )
    upload = PhotoUpload.objects.filter(report=report, sha256=sha256).first()
    if upload is None:
        _check_open_uploads(by=by, size=size)
        upload = PhotoUpload(
            report=report, sha256=sha256, size=size, content_type=content_type[:64],
            name=(name or "")[:255], original=original, uploaded_by=by,
        )  # fmt: skip
        # Already attached (sent whole before): nothing to send, the upload is complete.
        upload.attachment = Attachment.objects.filter(report=report, sha256=sha256).first()
        if upload.attachment is not None:
            upload.received = size
        upload.full_clean(validate_unique=False, validate_constraints=False)
        try:
            with transaction.atomic():
                upload.save()
        except IntegrityError:  # a concurrent start made it first
            upload = PhotoUpload.objects.get(report=report, sha256=sha256)
        else:
            # A partial file left by a purged upload of the same file is not this one's.
            partial_path(upload).unlink(missing_ok=True)
            return upload, True
    if upload.size != size:
        raise ValidationError(
            {"size": [f"This file (SHA-256 {sha256[:12]}…) is being uploaded with a size of "
                      f"{upload.size} bytes, not {size}: a file's size follows from its hash."]}
        )  # fmt: skip
    _touch(upload)
    return upload, False


def _check_open_uploads(*, by: User, size: int) -> None:
    """A member's uploads begun and not finished are bounded, in number and in bytes: each
    holds a partial file on the server's disk for up to PHOTO_UPLOAD_EXPIRY_HOURS, and an
    author could otherwise start thousands (a tablet sends its photos one after another)."""
    open_uploads = PhotoUpload.objects.filter(uploaded_by=by, attachment__isnull=True)
    count, held = open_uploads.aggregate(n=Count("pk"), bytes=Sum("size")).values()
    most, most_mb = settings.PHOTO_UPLOADS_OPEN_MAX, settings.PHOTO_UPLOADS_OPEN_MAX_MB
    if count >= most or (held or 0) + size > most_mb * 1024 * 1024:
        security_log.warning(
            "refused upload start for %s: %s open uploads, %s bytes", by.get_username(),
            count, held,
        )  # fmt: skip
        raise ValidationError(
            {"size": [f"{count} photos of yours are half sent ({(held or 0) // 1048576} MB): "
                      f"at most {most} and {most_mb} MB at a time. Let them finish (or wait "
                      f"{settings.PHOTO_UPLOAD_EXPIRY_HOURS:g} hours for abandoned ones to be "
                      "dropped), then send this one."]}
        )  # fmt: skip


def _touch(upload: PhotoUpload):
    # Resuming keeps an upload from expiring, without changing what it holds.
    PhotoUpload.objects.filter(pk=upload.pk).update(updated_at=timezone.now())


def _write(path: Path, offset: int, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.pwrite(descriptor, data, offset)
        # The offset the server answers is a promise: the bytes are on disk before it moves.
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _held(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def photo_upload_part(
    *, upload: PhotoUpload, by: User, offset: int, data: bytes, total: int
) -> PhotoUpload:
    """Write the part `data` of the file at `offset` (of `total` bytes). Returns the upload as
    it then stands (`received`, and `attachment` once complete).

    Raises UploadGap when the part starts beyond the bytes held, ValidationError when it does
    not fit the file, and the attachment's own errors (ValidationError) when the complete
    file is refused. Not atomic as a whole: bytes on disk and the offset move in steps that
    are each safe to repeat.
    """
    incident_report_require_author(user=by, report=upload.report, doing=DOING)
    if upload.attachment_id is not None:
        return upload  # complete: a part sent again changes nothing
    if total != upload.size:
        raise ValidationError(
            {"Content-Range": [f"The file's total is {upload.size} bytes, not {total}."]}
        )
    end = offset + len(data)
    if offset < 0 or end > upload.size:
        raise ValidationError(
            {"Content-Range": [f"Bytes {offset}-{end - 1} lie outside the file's "
                               f"{upload.size} bytes."]}
        )  # fmt: skip
    path = partial_path(upload)
    held = _held(path)
    if held < upload.received and upload.received < upload.size:
        # The partial file lost bytes (a volume restored, an operator's clean-up): say so.
        PhotoUpload.objects.filter(pk=upload.pk, received=upload.received).update(received=held)
        _reload(upload)
    if offset > upload.received:
        raise UploadGap(upload)
    if end > upload.received:
        new = data[upload.received - offset :]
        _write(path, upload.received, new)
        # Not moved: another request moved it first, and the caller is told where it is.
        PhotoUpload.objects.filter(
            pk=upload.pk, received=upload.received, attachment__isnull=True
        ).update(received=end, updated_at=timezone.now())
        _reload(upload)
    if upload.received == upload.size and upload.attachment_id is None:
        # Also for a part resent after the file was whole (its answer lost, or two copies of
        # the last part racing): attachment_store stores it once.
        _complete(upload, path, by)
    return upload


def _reload(upload: PhotoUpload):
    try:
        upload.refresh_from_db(fields=["received", "attachment", "updated_at"])
    except PhotoUpload.DoesNotExist:
        # Purged as abandoned while this part was on its way.
        raise ValidationError(
            {"sha256": ["This upload expired (PHOTO_UPLOAD_EXPIRY_HOURS): start it again."]}
        ) from None


def _complete(upload: PhotoUpload, path: Path, by: User):
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        _reload(upload)
        if upload.attachment_id is None:  # the partial file is gone: start again
            PhotoUpload.objects.filter(pk=upload.pk, attachment__isnull=True).update(received=0)
            upload.received = 0
        return  # or completed by a racing request
    if hashlib.sha256(data).hexdigest() != upload.sha256:
        # Altered on the way (or by a racing sender): start this file again.
        PhotoUpload.objects.filter(pk=upload.pk, attachment__isnull=True).update(received=0)
        path.unlink(missing_ok=True)
        upload.received = 0
        raise ValidationError(
            {"sha256": ["The file arrived altered (its SHA-256 differs from the one declared): "
                        "its upload starts again from byte 0."]}
        )  # fmt: skip
    attachment, _ = attachment_store(
        report=upload.report, by=by, data=data, name=upload.name,
        declared_sha256=upload.sha256,
    )  # fmt: skip
    PhotoUpload.objects.filter(pk=upload.pk).update(attachment=attachment)
    upload.attachment = attachment
    path.unlink(missing_ok=True)


def photo_uploads_purge_expired(*, now=None) -> int:
    """Delete the uploads not touched for PHOTO_UPLOAD_EXPIRY_HOURS, complete or not, and
    their partial files. Idempotent: a second run finds nothing. Returns how many went.

    A complete upload only remembered its attachment for parts sent again; a tablet that
    comes back after this asks for the upload anew and is told it is attached."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.PHOTO_UPLOAD_EXPIRY_HOURS)
    expired = list(PhotoUpload.objects.filter(updated_at__lt=cutoff).select_related("report"))
    for upload in expired:
        partial_path(upload).unlink(missing_ok=True)  # the file first: a row never outlives it
    PhotoUpload.objects.filter(pk__in=[u.pk for u in expired], updated_at__lt=cutoff).delete()
    return len(expired)

"""Resumable uploads of a report's photos, in parts, over a link that drops.

The tablet asks for an upload of one file (its size and SHA-256), is told how many bytes the
server already holds, and sends the rest in parts at that offset. The server keeps the bytes
received so far in the database (`PhotoUploadPart` rows: every web node behind a load
balancer sees them, so part 1 may reach one node and part 2 another) and only ever a prefix
of the file: a part that starts beyond it is refused with the offset to send from, a part
that overlaps it is trimmed to what is new. The last byte checks the SHA-256 and makes the
attachment through `attachment_store` (stored once per (report, SHA-256)); a part sent again
after that is answered with the same attachment.

The offset is decided under a lock on the upload's row: the bytes held are the parts stored,
and a part is stored at their end and `received` moved to its end in one transaction. Two
racing senders of one part: the second finds it held and is told the new offset. The file is
put together, checked and attached outside the lock (the attachment is stored once however
many complete it); a file that arrives altered all the same is caught by its SHA-256 and its
upload starts again from byte 0.

Uploads are not audited: the attachment they make is (a row per part would be noise).
"""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.models import User
from core.pages import security_log
from reports.models import Attachment, IncidentReport, PhotoUpload, PhotoUploadPart
from reports.selectors import incident_report_require_author
from reports.services.attachments import attachment_store

DOING = "upload files to it"


class UploadGap(Exception):
    """A part starting beyond the bytes the server holds: send from `received`."""

    def __init__(self, upload: PhotoUpload):
        super().__init__(upload.received)
        self.upload = upload


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
                # One start at a time per member (their user row held): starts at the same
                # moment each counted the others' uploads as not there, and all passed the cap.
                User.objects.select_for_update().filter(pk=by.pk).values_list("pk").first()
                _check_open_uploads(by=by, size=size)
                upload.save()
        except IntegrityError:  # a concurrent start made it first
            upload = PhotoUpload.objects.get(report=report, sha256=sha256)
        else:
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
    holds its parts in the database for up to PHOTO_UPLOAD_EXPIRY_HOURS, and an author could
    otherwise start thousands (a tablet sends its photos one after another)."""
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


def _held():
    """The bytes an upload holds: the sum of its parts' sizes (they follow one another)."""
    parts = PhotoUploadPart.objects.filter(upload=OuterRef("pk")).order_by()
    return Coalesce(Subquery(parts.values("upload").annotate(n=Sum("size")).values("n")), 0)


def _locked(upload: PhotoUpload) -> PhotoUpload | None:
    """The upload's row, locked until the transaction ends, with `held` (None: purged as
    abandoned while this part was on its way). Within transaction.atomic(); on SQLite the
    transaction itself holds the write lock."""
    locked = PhotoUpload.objects.select_for_update().only("received", "size", "attachment")
    return locked.annotate(held=_held()).filter(pk=upload.pk).first()


def photo_upload_part(
    *, upload: PhotoUpload, by: User, offset: int, data: bytes, total: int
) -> PhotoUpload:
    """Store the part `data` of the file at `offset` (of `total` bytes). Returns the upload as
    it then stands (`received`, and `attachment` once complete).

    Raises UploadGap when the part starts beyond the bytes held, ValidationError when it does
    not fit the file, and the attachment's own errors (ValidationError) when the complete
    file is refused (its bytes stay held: the last part sent again tries once more). A part
    is stored, and the offset moved, in one transaction; completing the file is another.
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
    # No savepoint (a part costs three queries): nothing in it is expected to fail.
    with transaction.atomic(savepoint=False):
        locked = _locked(upload)
        if locked is not None and locked.attachment_id is None:
            held = locked.held
            if offset <= held < end:
                new = data[held - offset :]
                PhotoUploadPart.objects.create(upload=upload, offset=held, size=len(new),
                                               data=new)  # fmt: skip
                held = end
            if held != locked.received:
                # Moved by this part, or the parts lost bytes (an operator's clean-up): what
                # the parts hold is what the server answers.
                PhotoUpload.objects.filter(pk=upload.pk).update(
                    received=held, updated_at=timezone.now()
                )
            upload.received = held
    if locked is None:
        raise ValidationError(
            {"sha256": ["This upload expired (PHOTO_UPLOAD_EXPIRY_HOURS): start it again."]}
        )
    if locked.attachment_id is not None:  # completed by a racing request (its parts gone)
        upload.refresh_from_db(fields=["received", "attachment"])
        return upload
    if offset > upload.received:
        raise UploadGap(upload)
    if upload.received == upload.size:
        # Also for a part resent after the file was whole (its answer lost, or two copies of
        # the last part racing): attachment_store stores it once.
        _complete(upload, by)
    return upload


def _restart(upload: PhotoUpload, received: int = 0):
    """Hold only the first `received` bytes (0: start the file again)."""
    with transaction.atomic():
        _locked(upload)  # no part lands meanwhile
        PhotoUploadPart.objects.filter(upload=upload, offset__gte=received).delete()
        PhotoUpload.objects.filter(pk=upload.pk, attachment__isnull=True).update(received=received)
    upload.received = received


def _complete(upload: PhotoUpload, by: User):
    parts = upload.parts.order_by("offset").values_list("offset", "data")
    data, held = bytearray(), 0
    for offset, part in parts:
        if offset != held:
            break  # a gap (parts lost): what follows is not held
        data += part
        held = len(data)
    if held != upload.size:
        _restart(upload, held)  # lost bytes, or started again by a racing request
        return
    if hashlib.sha256(data).hexdigest() != upload.sha256:
        # Altered on the way (or by a racing sender): start this file again.
        _restart(upload)
        raise ValidationError(
            {"sha256": ["The file arrived altered (its SHA-256 differs from the one declared): "
                        "its upload starts again from byte 0."]}
        )  # fmt: skip
    attachment, _ = attachment_store(
        report=upload.report, by=by, data=bytes(data), name=upload.name,
        declared_sha256=upload.sha256,
    )  # fmt: skip
    with transaction.atomic():
        PhotoUpload.objects.filter(pk=upload.pk).update(attachment=attachment)
        PhotoUploadPart.objects.filter(upload=upload).delete()
    upload.attachment = attachment


def photo_uploads_purge_expired(*, now=None) -> int:
    """Delete the uploads not touched for PHOTO_UPLOAD_EXPIRY_HOURS, complete or not, with
    their parts. Idempotent: a second run finds nothing. Returns how many went.

    A complete upload only remembered its attachment for parts sent again; a tablet that
    comes back after this asks for the upload anew and is told it is attached. The rows are
    locked first: a part on its way either lands before (and the upload is no longer
    expired) or finds the upload gone."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.PHOTO_UPLOAD_EXPIRY_HOURS)
    with transaction.atomic():
        expired = PhotoUpload.objects.select_for_update().filter(updated_at__lt=cutoff)
        pks = list(expired.values_list("pk", flat=True))
        PhotoUpload.objects.filter(pk__in=pks).delete()  # the parts by cascade
    return len(pks)

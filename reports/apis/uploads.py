"""Resumable uploads of a report's photos (reports.services.uploads): start one per file,
ask how many bytes the server holds, send the rest in parts. Only the report's author."""

import re

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.errors import ErrorOutput, body_too_large
from reports import selectors
from reports.apis.attachments import AttachmentOutput
from reports.apis.incidents import visible_report
from reports.models import PhotoUpload
from reports.services import uploads as service

DOING = service.DOING
CONTENT_RANGE = re.compile(r"^bytes (\d{1,12})-(\d{1,12})/(\d{1,12})$")


class UploadOutput(serializers.ModelSerializer):
    report = serializers.UUIDField(source="report.uuid")
    complete = serializers.SerializerMethodField()
    attachment = AttachmentOutput(allow_null=True)

    class Meta:
        model = PhotoUpload
        ref_name = "PhotoUpload"
        fields = ["report", "sha256", "size", "received", "complete", "attachment"]

    def get_complete(self, upload) -> bool:
        return upload.attachment_id is not None


class UploadInput(serializers.Serializer):
    sha256 = serializers.RegexField(r"^[0-9a-fA-F]{64}$")
    size = serializers.IntegerField(min_value=1)
    content_type = serializers.CharField(max_length=64, required=False, allow_blank=True)
    name = serializers.CharField(max_length=255, required=False, allow_blank=True)
    original = serializers.BooleanField(required=False, default=False)

    class Meta:
        ref_name = "PhotoUploadInput"


def _answer(upload, code=status.HTTP_200_OK):
    response = Response(UploadOutput(upload).data, status=code)
    # The offset to send from, as a header too (what a resumable-upload client looks for).
    response["Upload-Offset"] = str(upload.received)
    return response


def _authors_report(request, uuid):
    report = visible_report(request, uuid)
    # Refused before the body is read (a part is up to DATA_UPLOAD_MAX_MEMORY_SIZE).
    selectors.incident_report_require_author(user=request.user, report=report, doing=DOING)
    return report


class UploadsApi(APIView):
    """Start the upload of one file of a report, or find it again: idempotent by (report,
    SHA-256). 201 when new, 200 when it exists (with the bytes held so far, `received`)."""

    @extend_schema(request=UploadInput, responses={201: UploadOutput, 200: UploadOutput})
    def post(self, request, uuid):
        report = _authors_report(request, uuid)
        data = UploadInput(data=request.data)
        data.is_valid(raise_exception=True)
        upload, created = service.photo_upload_start(report=report, by=request.user,
                                                     **data.validated_data)  # fmt: skip
        return _answer(upload, status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def _upload(report, sha256):
    return generics.get_object_or_404(
        PhotoUpload.objects.select_related("report", "attachment__report"),
        report=report, sha256=sha256.lower(),
    )  # fmt: skip


def _content_range(request, length):
    match = CONTENT_RANGE.match(request.headers.get("Content-Range", ""))
    if not match:
        raise ValidationError({"Content-Range": [
            "Required, as `bytes FIRST-LAST/TOTAL` (e.g. bytes 0-262143/1048576)."]})  # fmt: skip
    first, last, total = (int(n) for n in match.groups())
    if last < first or last - first + 1 != length:
        message = f"Bytes {first}-{last} are {last - first + 1} bytes; the body has {length}."
        raise ValidationError({"Content-Range": [message]})
    return first, total


class UploadApi(APIView):
    """One upload: GET how many bytes the server holds (`received`, and `Upload-Offset`);
    PUT the next part as the raw body with `Content-Range: bytes FIRST-LAST/TOTAL`. A part
    overlapping what is held is trimmed; one starting beyond it is refused (409) with the
    offset to send from. The part that completes the file checks its SHA-256 and attaches it
    to the report once (a mismatch: 400 naming `sha256`, and the upload starts again)."""

    @extend_schema(responses=UploadOutput)
    def get(self, request, uuid, sha256):
        report = _authors_report(request, uuid)
        return _answer(_upload(report, sha256))

    @extend_schema(
        request={"application/octet-stream": OpenApiTypes.BINARY},
        parameters=[OpenApiParameter("Content-Range", str, OpenApiParameter.HEADER,
                                     required=True, description="bytes FIRST-LAST/TOTAL")],
        responses={200: UploadOutput,
                   409: OpenApiResponse(ErrorOutput, description="A part beyond the bytes held")},
    )  # fmt: skip
    def put(self, request, uuid, sha256):
        report = _authors_report(request, uuid)
        upload = _upload(report, sha256)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            raise body_too_large(limit, "A part", field="body")
        body = request.body
        first, total = _content_range(request, len(body))
        try:
            upload = service.photo_upload_part(upload=upload, by=request.user, offset=first,
                                               data=body, total=total)  # fmt: skip
        except service.UploadGap as gap:
            response = Response(
                {"status": 409, "code": "upload_gap",
                 "detail": f"Content-Range: the server holds {gap.upload.received} bytes of "
                           f"this file; send from byte {gap.upload.received}.",
                 "errors": {"Content-Range": [f"Send from byte {gap.upload.received}."]}},
                status=status.HTTP_409_CONFLICT,
            )  # fmt: skip
            response["Upload-Offset"] = str(gap.upload.received)
            return response
        return _answer(upload)

"""A report's attachments: uploaded by its author once per (report, SHA-256), downloaded as
re-encoded copies by whoever may see the report, the original by duty officers only."""

from django.conf import settings
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.errors import body_too_large
from core.http import untrusted_file_headers
from core.roles import Role, has_role
from reports import selectors
from reports.apis.incidents import visible_report
from reports.models import STORED_EXTENSIONS, Attachment
from reports.services.attachments import attachment_store, read_capped


class AttachmentOutput(serializers.ModelSerializer):
    report = serializers.UUIDField(source="report.uuid")

    class Meta:
        model = Attachment
        ref_name = "Attachment"
        fields = ["report", "sha256", "kind", "content_type", "size", "original_name",
                  "uploaded_at"]  # fmt: skip


class AttachmentInput(serializers.Serializer):
    file = serializers.FileField()
    sha256 = serializers.RegexField(r"^[0-9a-fA-F]{64}$")

    class Meta:
        ref_name = "AttachmentInput"


# What a multipart body carries besides the file: boundaries, part headers, the sha256.
MULTIPART_ALLOWANCE = 64 * 1024


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # Django reads no body it cannot measure


class AttachmentsApi(APIView):
    """A report's attachments. POST is idempotent by (report, SHA-256): a resent or
    interrupted-then-resent file is stored once; 201 when new, 200 when already held."""

    @extend_schema(responses=AttachmentOutput(many=True))
    def get(self, request, uuid):
        report = visible_report(request, uuid)
        return Response(AttachmentOutput(report.attachments.all(), many=True).data)

    @extend_schema(request={"multipart/form-data": AttachmentInput},
                   responses={201: AttachmentOutput, 200: AttachmentOutput})  # fmt: skip
    def post(self, request, uuid):
        report = visible_report(request, uuid)
        selectors.incident_report_require_author(user=request.user, report=report,
                                                 doing="attach files to it")  # fmt: skip
        # Refused by its declared length before the body is read (and spooled to disk): a
        # client cannot make the server take in more than a file's limit and its envelope.
        limit = settings.ATTACHMENT_MAX_BYTES
        if _content_length(request) > limit + MULTIPART_ALLOWANCE:
            raise body_too_large(limit, "The file", field="file")
        data = AttachmentInput(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        attachment, created = attachment_store(
            report=report, by=request.user, data=read_capped(upload, limit), name=upload.name,
            declared_sha256=data.validated_data["sha256"],
        )  # fmt: skip
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(AttachmentOutput(attachment).data, status=code)


# What a file is served as: re-encoded copies are JPEG; an original keeps its detected type.
ATTACHMENT_TYPES = ["image/jpeg", "image/png", "image/webp", "application/pdf"]


class AttachmentFileApi(APIView):
    """Download an attachment: `thumbnail` and `display` (re-encoded, no metadata) for
    whoever may see the report; `original` (with the camera's EXIF, its position removed)
    for duty officers only."""

    @extend_schema(
        parameters=[OpenApiParameter("variant", str, OpenApiParameter.PATH,
                                     enum=["thumbnail", "display", "original"])],
        responses={(200, media_type): OpenApiTypes.BINARY for media_type in ATTACHMENT_TYPES},
    )  # fmt: skip
    def get(self, request, uuid, sha256, variant):
        report = visible_report(request, uuid)
        attachment = generics.get_object_or_404(report.attachments, sha256=sha256)
        reencoded = variant in ("display", "thumbnail") and attachment.kind == Attachment.Kind.IMAGE
        if variant == "original":
            if not has_role(request.user, Role.DUTY_OFFICER):
                raise PermissionDenied("Only duty officers download originals (they keep EXIF).")
            field, content_type = attachment.original, attachment.content_type
        elif reencoded:
            field, content_type = getattr(attachment, variant), "image/jpeg"
        elif variant == "display":  # a PDF has no re-encoded copy and carries no camera EXIF
            field, content_type = attachment.original, attachment.content_type
        else:
            raise NotFound("No such variant: thumbnail, display or original.")
        extension = "jpg" if reencoded else STORED_EXTENSIONS.get(content_type, "bin")
        response = FileResponse(
            field.open("rb"), content_type=content_type,
            # Only a JPEG we encoded ourselves is shown in the page; anything the client
            # sent as it was (an original, a PDF that may also parse as HTML) is a download.
            as_attachment=not reencoded,
            filename=f"{report.uuid}-{attachment.sha256[:12]}-{variant}.{extension}",
        )  # fmt: skip
        return untrusted_file_headers(response)

import csv
import io

from django.conf import settings
from django.http import FileResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from core.api.errors import ErrorOutput, body_too_large
from core.api.fields import PointField, ZonedDateTimeField
from core.api.pagination import GeoJsonPagination
from core.api.schema import error_response
from core.api.serializers import FieldsBuiltOnce
from core.http import untrusted_file_headers
from core.roles import Role, has_role
from patrols.models import PatrolPlan
from reports import review, selectors, services
from reports.attachments import attachment_store, read_capped
from reports.filters import IncidentReportFilter
from reports.models import STORED_EXTENSIONS, Attachment, IncidentReport


class IncidentReportOutput(FieldsBuiltOnce, serializers.ModelSerializer):
    author = serializers.CharField(source="author.username")
    sector = serializers.CharField(source="sector.name")
    location = PointField()
    observer_position = PointField(allow_null=True)
    editable = serializers.SerializerMethodField()
    attachments = serializers.SerializerMethodField()
    acled_event_type = serializers.CharField(read_only=True)
    acled_sub_event_type = serializers.CharField(read_only=True)

    class Meta:
        model = IncidentReport
        ref_name = "IncidentReport"
        fields = [
            "uuid", "status", "version", "observed_at", "time_precision", "observed_until",
            "received_at", "submitted_at", "location", "location_precision", "location_phrase",
            "sector", "observer_position", "direction_degrees", "estimated_distance_m",
            "observation_means", "category", "severity", "description", "explosions", "shots",
            "bursts", "weapons", "alleged_actor", "alleged_by", "civilians_killed",
            "civilians_injured", "military_killed", "military_injured", "casualty_source",
            "damage", "author", "patrol", "editable", "attachments",
            "review_questions", "rejection_reason", "reviewed_at", "verification",
            "acled_event_type", "acled_sub_event_type",
        ]  # fmt: skip
        # What review decided: the reporter reads it (on the tablet), only review sets it.
        read_only_fields = ["review_questions", "rejection_reason", "reviewed_at", "verification"]

    def get_attachments(self, report) -> list[str]:
        """The SHA-256 of each attachment the server holds (the tablet compares its own)."""
        if self.context.get("just_filed"):
            return []  # a report filed by this very request has none: no query to ask
        return [a.sha256 for a in report.attachments.all()]

    def get_editable(self, report) -> bool:
        user = self.context["request"].user
        return selectors.incident_report_can_edit(user=user, report=report)


class IncidentReportListApi(generics.ListAPIView):
    """Incident reports the caller may see (their own drafts; submitted reports by role)."""

    serializer_class = IncidentReportOutput
    filterset_class = IncidentReportFilter
    ordering_fields = ["observed_at", "severity"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return IncidentReport.objects.none()
        return _visible(self.request)


def _visible(request):
    """The reports the caller may see; 403 for a role that sees none (not a 404 per report)."""
    selectors.incident_reports_require_access(user=request.user)
    return selectors.incident_report_list(user=request.user)


def _report(request, uuid):
    return generics.get_object_or_404(_visible(request), uuid=uuid)


# --- Filing from the tablet ---------------------------------------------------------------


class ReportInput(FieldsBuiltOnce, serializers.Serializer):
    """What the tablet sends. `uuid` is made on the tablet when the monitor starts the report."""

    uuid = serializers.UUIDField()
    status = serializers.ChoiceField(
        choices=[IncidentReport.Status.DRAFT, IncidentReport.Status.SUBMITTED], required=False
    )
    observed_at = ZonedDateTimeField()
    time_precision = serializers.ChoiceField(IncidentReport.TimePrecision.choices, required=False)
    observed_until = ZonedDateTimeField(required=False, allow_null=True)
    location = PointField()
    location_precision = serializers.ChoiceField(
        IncidentReport.LocationPrecision.choices, required=False
    )
    observer_position = PointField(required=False, allow_null=True)
    direction_degrees = serializers.IntegerField(min_value=0, max_value=359, required=False,
                                                 allow_null=True)  # fmt: skip
    estimated_distance_m = serializers.IntegerField(
        min_value=0, max_value=settings.REPORT_MAX_DISTANCE_M, required=False, allow_null=True
    )
    observation_means = serializers.ChoiceField(
        IncidentReport.ObservationMeans.choices, required=False
    )
    category = serializers.ChoiceField(IncidentReport.Category.choices)
    severity = serializers.IntegerField(min_value=1, max_value=5)
    description = serializers.CharField()
    explosions = serializers.IntegerField(
        min_value=0, max_value=settings.REPORT_MAX_EVENTS, required=False, allow_null=True
    )
    shots = serializers.IntegerField(
        min_value=0, max_value=settings.REPORT_MAX_EVENTS, required=False, allow_null=True
    )
    bursts = serializers.IntegerField(
        min_value=0, max_value=settings.REPORT_MAX_EVENTS, required=False, allow_null=True
    )
    weapons = serializers.CharField(required=False, allow_blank=True, max_length=255)
    alleged_actor = serializers.CharField(required=False, allow_blank=True, max_length=128)
    alleged_by = serializers.CharField(required=False, allow_blank=True, max_length=128)
    civilians_killed = serializers.IntegerField(
        min_value=0, max_value=settings.REPORT_MAX_CASUALTIES, required=False
    )
    civilians_injured = serializers.IntegerField(
        min_value=0, max_value=settings.REPORT_MAX_CASUALTIES, required=False
    )
    military_killed = serializers.IntegerField(
        min_value=0, max_value=settings.REPORT_MAX_CASUALTIES, required=False
    )
    military_injured = serializers.IntegerField(
        min_value=0, max_value=settings.REPORT_MAX_CASUALTIES, required=False
    )
    casualty_source = serializers.ChoiceField(
        IncidentReport.CasualtySource.choices, required=False, allow_blank=True
    )
    damage = serializers.CharField(required=False, allow_blank=True)
    patrol = serializers.PrimaryKeyRelatedField(
        queryset=PatrolPlan.objects.all(), required=False, allow_null=True
    )

    class Meta:
        ref_name = "IncidentReportInput"


def _etag(report):
    return f'"{report.version}"'


def _with_etag(response, report):
    response["ETag"] = _etag(report)
    return response


class ConflictOutput(ErrorOutput):
    uuid = serializers.UUIDField(help_text="The report stored under this identifier.")

    class Meta:
        ref_name = "ReportConflict"


ETAG = OpenApiParameter(
    "If-Match", str, OpenApiParameter.HEADER, required=True,
    description='The ETag of the version edited, e.g. `"3"`.',
)  # fmt: skip


def _conflict(exc):
    return Response(
        {
            "status": 409,
            "code": "conflict",
            "detail": str(exc),
            "errors": {name: ["Differs from the report stored under this identifier."]
                       for name in exc.fields},
            "uuid": str(exc.report.uuid),
        },
        status=status.HTTP_409_CONFLICT,
    )  # fmt: skip


class IncidentReportsApi(IncidentReportListApi):
    """GET: the reports the caller may see. POST: file a report from the tablet, exactly once.

    201 with the report when new; 200 with the stored report when this UUID was already
    filed with the same content (a resend); 409 naming the fields when the UUID is stored
    with different content. The response always echoes the UUID.
    """

    @extend_schema(
        request=ReportInput,
        responses={
            201: IncidentReportOutput,
            200: OpenApiResponse(IncidentReportOutput, description="Already filed (a resend)."),
            409: OpenApiResponse(ConflictOutput, description="This UUID is stored with other "
                                 "content: `errors` names the fields that differ."),
        },
    )  # fmt: skip
    def post(self, request):
        # The role, not the table permission: a superuser passes every has_perm.
        if not has_role(request.user, *selectors.FILING_ROLES):
            raise PermissionDenied("Your role does not file incident reports.")
        data = ReportInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        uuid = fields.pop("uuid")
        try:
            report, created = services.incident_report_receive(
                author=request.user, uuid=uuid, fields=fields
            )
        except services.ReportConflict as exc:
            return _conflict(exc)
        out = IncidentReportOutput(report, context={"request": request, "just_filed": created}).data
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return _with_etag(Response(out, status=code), report)


class IncidentReportEditApi(APIView):
    """Read with its ETag; change only with `If-Match` carrying the ETag you read.

    A stale `If-Match` gets 412 and changes nothing; a missing one gets 428. A submitted
    report is amended, its previous content kept in its history.
    """

    @extend_schema(
        parameters=[OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER,
                                     description="The ETag held: 304 if it is still current.")],
        responses={200: IncidentReportOutput,
                   304: OpenApiResponse(description="Unchanged since the ETag given.")},
    )  # fmt: skip
    def get(self, request, uuid):
        report = _report(request, uuid)
        if request.headers.get("If-None-Match") == _etag(report):
            return _with_etag(Response(status=status.HTTP_304_NOT_MODIFIED), report)
        return _with_etag(Response(IncidentReportOutput(report, context={"request": request}).data),
                          report)  # fmt: skip

    @extend_schema(
        request=ReportInput,
        parameters=[ETAG],
        responses={
            200: IncidentReportOutput,
            412: error_response("412", "The report changed since that ETag: read it again."),
            428: error_response("428", "No If-Match: send the ETag of the version edited."),
        },
    )
    def patch(self, request, uuid):
        report = _report(request, uuid)
        # Who may edit, before the preconditions and the body: a refusal is a refusal.
        selectors.incident_report_require_author(user=request.user, report=report)
        expected = request.headers.get("If-Match", "").strip().strip('"')
        if not expected.isdigit():
            return Response(
                {"status": 428, "code": "precondition_required",
                 "detail": "Send If-Match with the ETag of the version you edited.",
                 "errors": {}},
                status=428,
            )  # fmt: skip
        data = ReportInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = {k: v for k, v in data.validated_data.items() if k != "uuid"}
        try:
            report = services.incident_report_edit(
                report=report, by=request.user, expected_version=int(expected), fields=fields,
                reason=request.data.get("reason", "") if hasattr(request.data, "get") else "",
            )  # fmt: skip
        except services.StaleVersion as exc:
            return _with_etag(Response(
                {"status": 412, "code": "precondition_failed",
                 "detail": f"The report changed since you read it: it is now at version "
                           f"{exc.report.version}. Reload it and apply your change again.",
                 "errors": {}},
                status=status.HTTP_412_PRECONDITION_FAILED), exc.report)  # fmt: skip
        out = IncidentReportOutput(report, context={"request": request}).data
        return _with_etag(Response(out), report)


class IncidentReportSubmitApi(APIView):
    @extend_schema(request=None, responses=IncidentReportOutput)
    def post(self, request, uuid):
        """Submit a draft (or a returned report) for review. Resending changes nothing."""
        report = _report(request, uuid)
        report = services.incident_report_submit(report=report, by=request.user)
        out = IncidentReportOutput(report, context={"request": request}).data
        return _with_etag(Response(out), report)


# --- Attachments ----------------------------------------------------------------------------


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
        report = _report(request, uuid)
        return Response(AttachmentOutput(report.attachments.all(), many=True).data)

    @extend_schema(request={"multipart/form-data": AttachmentInput},
                   responses={201: AttachmentOutput, 200: AttachmentOutput})  # fmt: skip
    def post(self, request, uuid):
        report = _report(request, uuid)
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
    whoever may see the report; `original` (with the camera's EXIF, e.g. its position)
    for duty officers only."""

    @extend_schema(
        parameters=[OpenApiParameter("variant", str, OpenApiParameter.PATH,
                                     enum=["thumbnail", "display", "original"])],
        responses={(200, media_type): OpenApiTypes.BINARY for media_type in ATTACHMENT_TYPES},
    )  # fmt: skip
    def get(self, request, uuid, sha256, variant):
        report = _report(request, uuid)
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


# --- Review -------------------------------------------------------------------------------


class ReviewInput(serializers.Serializer):
    decision = serializers.ChoiceField(["reviewed", "returned", "rejected"])
    questions = serializers.CharField(required=False, allow_blank=True)
    reason = serializers.CharField(required=False, allow_blank=True)

    class Meta:
        ref_name = "ReviewInput"


class IncidentReportReviewApi(APIView):
    @extend_schema(request=ReviewInput, responses=IncidentReportOutput)
    def post(self, request, uuid):
        """Duty officer: mark reviewed, return with questions, or reject with a reason."""
        review.require_duty_officer(request.user)
        report = _report(request, uuid)
        data = ReviewInput(data=request.data)
        data.is_valid(raise_exception=True)
        decision = data.validated_data["decision"]
        if decision == "reviewed":
            report = review.report_mark_reviewed(report=report, by=request.user)
        elif decision == "returned":
            report = review.report_return(
                report=report, by=request.user, questions=data.validated_data.get("questions", "")
            )
        else:
            report = review.report_reject(
                report=report, by=request.user, reason=data.validated_data.get("reason", "")
            )
        return _with_etag(
            Response(IncidentReportOutput(report, context={"request": request}).data), report
        )  # fmt: skip


class VerifyInput(serializers.Serializer):
    level = serializers.ChoiceField(IncidentReport.Verification.choices)
    note = serializers.CharField(required=False, allow_blank=True)

    class Meta:
        ref_name = "VerifyInput"


class IncidentReportVerifyApi(APIView):
    @extend_schema(request=VerifyInput, responses=IncidentReportOutput)
    def post(self, request, uuid):
        """Duty officer: set the verification level, with what corroborates it."""
        review.require_duty_officer(request.user)
        report = _report(request, uuid)
        data = VerifyInput(data=request.data)
        data.is_valid(raise_exception=True)
        report = review.report_verify(report=report, by=request.user,
                                      level=data.validated_data["level"],
                                      note=data.validated_data.get("note", ""))  # fmt: skip
        return _with_etag(
            Response(IncidentReportOutput(report, context={"request": request}).data), report
        )


# --- GeoJSON and CSV --------------------------------------------------------------------------


class IncidentReportFeature(GeoFeatureModelSerializer):
    sector = serializers.CharField(source="sector.name")

    class Meta:
        model = IncidentReport
        ref_name = "IncidentReportFeature"
        geo_field = "location"
        id_field = "uuid"
        fields = ["uuid", "observed_at", "category", "severity", "status", "verification",
                  "location_phrase", "sector"]  # fmt: skip


class IncidentReportGeoJsonApi(IncidentReportListApi):
    """The same list as GeoJSON features (filter with ?bbox= for the map)."""

    serializer_class = IncidentReportFeature
    pagination_class = GeoJsonPagination


CSV_COLUMNS = [
    ("uuid", lambda r: r.uuid), ("event_date", lambda r: r.observed_at.date().isoformat()),
    ("observed_at", lambda r: r.observed_at.isoformat()), ("category", lambda r: r.category),
    ("event_type", lambda r: r.acled_event_type),
    ("sub_event_type", lambda r: r.acled_sub_event_type),
    ("severity", lambda r: r.severity), ("admin1", lambda r: r.sector.name),
    ("location", lambda r: r.location_phrase), ("latitude", lambda r: round(r.location.y, 5)),
    ("longitude", lambda r: round(r.location.x, 5)), ("status", lambda r: r.status),
    ("verification", lambda r: r.verification),
    ("casualties", lambda r: r.casualties), ("notes", lambda r: r.description),
]  # fmt: skip


class IncidentReportCsvApi(IncidentReportListApi):
    """The same list as CSV (all matching rows, streamed)."""

    @extend_schema(filters=True, responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset()).order_by("observed_at")

        def rows():
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow([name for name, _ in CSV_COLUMNS])
            for report in queryset.iterator(chunk_size=2000):
                writer.writerow([value(report) for _, value in CSV_COLUMNS])
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
            yield buffer.getvalue()

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="incident-reports.csv"'
        return response


# --- The incident map -------------------------------------------------------------------------


class MapInput(serializers.Serializer):
    zoom = serializers.IntegerField(min_value=0, max_value=20)
    bbox = serializers.CharField(help_text="min_lon,min_lat,max_lon,max_lat (required)")

    class Meta:
        ref_name = "IncidentMapInput"


class IncidentMapApi(IncidentReportListApi):
    """The incidents in view, clustered on the server for the duty officers' map.

    Needs `bbox` and `zoom` (and takes every filter of the list). Incidents are grouped on a
    grid of about 64 screen pixels at that zoom: a cell of several incidents comes as one
    feature with `cluster: true`, its `count`, highest severity and extent (`bbox`); a cell
    of one incident comes as that incident. The answer's size follows the screen, not the
    number of incidents.
    """

    pagination_class = None

    @extend_schema(
        filters=True,
        parameters=[MapInput],
        responses={(200, "application/geo+json"): OpenApiTypes.OBJECT},
    )
    def get(self, request, *args, **kwargs):
        params = MapInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        zoom = params.validated_data["zoom"]
        queryset = self.filter_queryset(self.get_queryset())
        # The filter has checked the bbox; here only its size against the zoom.
        west, south, east, north = (float(v) for v in params.validated_data["bbox"].split(","))
        width, height = selectors.cluster_cell_size(zoom)
        limit = selectors.MAX_CELLS_ACROSS
        if (east - west) / width > limit or (north - south) / height > limit:
            raise serializers.ValidationError(
                {"bbox": [f"Too large an area for zoom {zoom}: zoom out, or ask for a "
                          f"smaller area (at most {limit} cells of the grid across)."]}
            )  # fmt: skip
        features = selectors.incident_map_features(queryset=queryset, zoom=zoom)
        return Response(features, content_type="application/geo+json")

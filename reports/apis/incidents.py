"""The incident reports' API: the list the caller may see, filing from the tablet (exactly
once per UUID), reading with an ETag, editing and amending with If-Match, submitting.

The output serializer and the visibility helpers here serve every module of the package.
"""

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.errors import ErrorOutput
from core.api.fields import PointField, ZonedDateTimeField
from core.api.schema import error_response
from core.api.serializers import FieldsBuiltOnce
from patrols.models import PatrolPlan
from reports import selectors
from reports.filters import IncidentReportFilter
from reports.models import IncidentReport
from reports.services import filing


class IncidentReportOutput(FieldsBuiltOnce, serializers.ModelSerializer):
    author = serializers.CharField(source="author.username")
    sector = serializers.CharField(source="sector.name")
    location = PointField()
    observer_position = PointField(allow_null=True)
    editable = serializers.SerializerMethodField()
    attachments = serializers.SerializerMethodField()
    acled_event_type = serializers.CharField(read_only=True)
    acled_sub_event_type = serializers.CharField(read_only=True)
    severity_label = serializers.CharField(source="get_severity_display", read_only=True)

    class Meta:
        model = IncidentReport
        ref_name = "IncidentReport"
        fields = [
            "uuid", "reference", "status", "version", "observed_at", "time_precision",
            "observed_until", "received_at", "submitted_at", "location", "location_precision",
            "location_phrase", "sector", "across_line", "observer_position", "direction_degrees",
            "estimated_distance_m", "observation_means", "category", "severity",
            "severity_label", "description", "explosions", "shots",
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
        return visible_reports(self.request)


def visible_reports(request):
    """The reports the caller may see; 403 for a role that sees none (not a 404 per report)."""
    selectors.incident_reports_require_access(user=request.user)
    return selectors.incident_report_list(user=request.user)


def visible_report(request, uuid):
    """The report under this UUID if the caller may see it; 404 otherwise (drafts of others
    included: their existence is not disclosed)."""
    return generics.get_object_or_404(visible_reports(request), uuid=uuid)


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


def etag(report):
    return f'"{report.version}"'


def with_etag(response, report):
    response["ETag"] = etag(report)
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
        if not selectors.can_file(request.user):
            raise PermissionDenied("Your role does not file incident reports.")
        data = ReportInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        uuid = fields.pop("uuid")
        try:
            report, created = filing.incident_report_receive(
                author=request.user, uuid=uuid, fields=fields
            )
        except filing.ReportConflict as exc:
            return _conflict(exc)
        out = IncidentReportOutput(report, context={"request": request, "just_filed": created}).data
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return with_etag(Response(out, status=code), report)


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
        report = visible_report(request, uuid)
        if request.headers.get("If-None-Match") == etag(report):
            return with_etag(Response(status=status.HTTP_304_NOT_MODIFIED), report)
        return with_etag(Response(IncidentReportOutput(report, context={"request": request}).data),
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
        report = visible_report(request, uuid)
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
            report = filing.incident_report_edit(
                report=report, by=request.user, expected_version=int(expected), fields=fields,
                reason=request.data.get("reason", "") if hasattr(request.data, "get") else "",
            )  # fmt: skip
        except filing.StaleVersion as exc:
            return with_etag(Response(
                {"status": 412, "code": "precondition_failed",
                 "detail": f"The report changed since you read it: it is now at version "
                           f"{exc.report.version}. Reload it and apply your change again.",
                 "errors": {}},
                status=status.HTTP_412_PRECONDITION_FAILED), exc.report)  # fmt: skip
        out = IncidentReportOutput(report, context={"request": request}).data
        return with_etag(Response(out), report)


class IncidentReportSubmitApi(APIView):
    @extend_schema(request=None, responses=IncidentReportOutput)
    def post(self, request, uuid):
        """Submit a draft (or a returned report) for review. Resending changes nothing."""
        report = visible_report(request, uuid)
        report = filing.incident_report_submit(report=report, by=request.user)
        out = IncidentReportOutput(report, context={"request": request}).data
        return with_etag(Response(out), report)

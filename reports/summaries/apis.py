"""The summaries' API (device token or session): the list, one summary's revisions and files,
its content as documented JSON, and the files themselves (every download logged)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from core.dates import BoundedDateSerializerField
from reports.models import DailySummary, SummaryArtefact
from reports.summaries import documents, selectors
from reports.summaries.schema import DailySummaryContentSchema
from reports.summaries.services import summary_download_record


def _require_reader(request):
    if not selectors.can_read(request.user):
        raise PermissionDenied(selectors.NOT_A_READER)


class ArtefactOutput(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = SummaryArtefact
        ref_name = "SummaryArtefact"
        fields = ["level", "format", "sha256", "size", "url"]

    def get_url(self, artefact) -> str:
        r = artefact.revision
        return reverse("api-summary-file", request=self.context.get("request"), kwargs={
            "year": r.summary.year, "number": r.summary.number, "revision": r.number,
            "level": artefact.level, "fmt": artefact.format,
        })  # fmt: skip


class RevisionOutput(serializers.Serializer):
    number = serializers.IntegerField()
    built_at = serializers.DateTimeField()
    content_sha256 = serializers.CharField()
    changes = serializers.ListField(child=serializers.CharField())
    artefacts = ArtefactOutput(many=True)

    class Meta:
        ref_name = "SummaryRevision"


class SummaryOutput(serializers.ModelSerializer):
    title = serializers.CharField()
    revisions = RevisionOutput(many=True)

    class Meta:
        model = DailySummary
        ref_name = "DailySummary"
        fields = ["title", "year", "number", "period_start", "period_end", "time_zone",
                  "revisions"]  # fmt: skip


class SummaryListInput(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=200)
    date_from = BoundedDateSerializerField(required=False)
    date_to = BoundedDateSerializerField(required=False)

    class Meta:
        ref_name = "SummaryListInput"


@extend_schema_view(
    get=extend_schema(
        parameters=[
            OpenApiParameter("q", str, description="`325/2026`, `325`, or words of highlights."),
            OpenApiParameter("date_from", OpenApiTypes.DATE, description="Ending on or after."),
            OpenApiParameter("date_to", OpenApiTypes.DATE, description="Ending on or before."),
        ]
    )
)
class SummaryListApi(generics.ListAPIView):
    """Daily summaries, newest first (`?q=325/2026`, `?date_from=`, `?date_to=`)."""

    serializer_class = SummaryOutput

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return DailySummary.objects.none()
        _require_reader(self.request)
        # Read as a serializer, so a bad date is a 400 naming its parameter.
        params = SummaryListInput(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return selectors.summary_list(**params.validated_data)


class SummaryDetailApi(APIView):
    @extend_schema(responses=SummaryOutput)
    def get(self, request, year, number):
        _require_reader(request)
        summary = generics.get_object_or_404(selectors.summary_list(), year=year, number=number)
        return Response(SummaryOutput(summary, context={"request": request}).data)


class ContentQuery(serializers.Serializer):
    level = serializers.ChoiceField([documents.INTERNAL, documents.RELEASABLE],
                                    default=documents.INTERNAL)  # fmt: skip
    revision = serializers.IntegerField(
        min_value=1, max_value=32767, required=False, help_text="Default: the latest."
    )

    class Meta:
        ref_name = "SummaryContentQuery"


class SummaryContentApi(APIView):
    @extend_schema(parameters=[ContentQuery], responses=DailySummaryContentSchema)
    def get(self, request, year, number):
        """A summary's content as JSON, at the distribution level asked."""
        _require_reader(request)
        summary = generics.get_object_or_404(DailySummary, year=year, number=number)
        # Read as numbers and choices first: `?revision=true` reached the ORM and was a 500.
        query = ContentQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        revisions = summary.revisions.order_by("-number")
        if "revision" in query.validated_data:
            revisions = revisions.filter(number=query.validated_data["revision"])
        revision = revisions.first()
        if revision is None:
            raise serializers.ValidationError({"revision": ["This summary has no such revision."]})
        content = documents.level_content(revision.content, query.validated_data["level"])
        # As in the revision's files: the anchor is the revision's, not part of the content.
        return Response({**content, "audit_anchor": revision.audit_anchor})


class SummaryFileApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("level", str, "path", enum=SummaryArtefact.Level.values),
            OpenApiParameter("fmt", str, "path", enum=SummaryArtefact.Format.values),
        ],
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            (200, "application/json"): DailySummaryContentSchema,
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/geo+json"): OpenApiTypes.OBJECT,
        },
    )
    def get(self, request, year, number, revision, level, fmt):
        """One stored file (PDF, JSON, CSV or GeoJSON). The download is logged."""
        _require_reader(request)
        artefact = generics.get_object_or_404(
            SummaryArtefact.objects.select_related("revision__summary"),
            revision__summary__year=year, revision__summary__number=number,
            revision__number=revision, level=level, format=fmt,
        )  # fmt: skip
        summary_download_record(artefact=artefact, user=request.user, via="api")
        return documents.artefact_response(artefact)

from rest_framework import generics, serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework_gis.fields import GeometryField

from core.roles import has_role
from reports import selectors
from reports.models import IncidentReport


class IncidentReportOutput(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username")
    sector = serializers.CharField(source="sector.name")
    location = GeometryField()
    editable = serializers.SerializerMethodField()

    class Meta:
        model = IncidentReport
        ref_name = "IncidentReport"
        fields = [
            "uuid", "status", "observed_at", "received_at", "location", "location_phrase",
            "sector", "category", "severity", "description", "author", "patrol", "editable",
        ]  # fmt: skip

    def get_editable(self, report) -> bool:
        user = self.context["request"].user
        return selectors.incident_report_can_edit(user=user, report=report)


class IncidentReportListApi(generics.ListAPIView):
    """Incident reports the caller may see (their own drafts; submitted reports by role)."""

    serializer_class = IncidentReportOutput
    filterset_fields = ["status", "category", "severity", "sector"]
    ordering_fields = ["observed_at", "severity"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return IncidentReport.objects.none()
        user = self.request.user
        if not has_role(user, *selectors.READ_ALL_ROLES, *selectors.FILING_ROLES):
            raise PermissionDenied("Your role does not give access to incident reports.")
        return selectors.incident_report_list(user=user)


class IncidentReportDetailApi(generics.RetrieveAPIView):
    serializer_class = IncidentReportOutput
    lookup_field = "uuid"

    def get_queryset(self):
        return selectors.incident_report_list(user=self.request.user)

"""Duty officers' review decisions and verification of a report."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from reports.apis.incidents import IncidentReportOutput, visible_report, with_etag
from reports.models import IncidentReport
from reports.services import review


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
        report = visible_report(request, uuid)
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
        return with_etag(
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
        report = visible_report(request, uuid)
        data = VerifyInput(data=request.data)
        data.is_valid(raise_exception=True)
        report = review.report_verify(report=report, by=request.user,
                                      level=data.validated_data["level"],
                                      note=data.validated_data.get("note", ""))  # fmt: skip
        return with_etag(
            Response(IncidentReportOutput(report, context={"request": request}).data), report
        )

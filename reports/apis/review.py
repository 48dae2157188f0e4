"""Duty officers' review decisions and verification of a report."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from reports.apis.incidents import IncidentReportOutput, visible_report, with_etag
from reports.models import IncidentReport
from reports.services import review


def _decide(request, uuid, input_class, decide):
    """A duty officer's action on a report: who may act is asked before the body is read;
    `decide(report, by, fields)` calls the one service and returns the report after it."""
    review.require_duty_officer(request.user)
    report = visible_report(request, uuid)
    data = input_class(data=request.data)
    data.is_valid(raise_exception=True)
    report = decide(report, request.user, data.validated_data)
    return with_etag(
        Response(IncidentReportOutput(report, context={"request": request}).data), report
    )


class ReviewInput(serializers.Serializer):
    decision = serializers.ChoiceField(list(review.DECISIONS))
    questions = serializers.CharField(required=False, allow_blank=True)
    reason = serializers.CharField(required=False, allow_blank=True)

    class Meta:
        ref_name = "ReviewInput"


def _review(report, by, fields):
    return review.report_decide(report=report, by=by, **fields)


class IncidentReportReviewApi(APIView):
    @extend_schema(request=ReviewInput, responses=IncidentReportOutput)
    def post(self, request, uuid):
        """Duty officer: mark reviewed, return with questions, or reject with a reason."""
        return _decide(request, uuid, ReviewInput, _review)


class VerifyInput(serializers.Serializer):
    level = serializers.ChoiceField(IncidentReport.Verification.choices)
    note = serializers.CharField(required=False, allow_blank=True)

    class Meta:
        ref_name = "VerifyInput"


def _verify(report, by, fields):
    return review.report_verify(report=report, by=by, level=fields["level"],
                                note=fields.get("note", ""))  # fmt: skip


class IncidentReportVerifyApi(APIView):
    @extend_schema(request=VerifyInput, responses=IncidentReportOutput)
    def post(self, request, uuid):
        """Duty officer: set the verification level, with what corroborates it."""
        return _decide(request, uuid, VerifyInput, _verify)

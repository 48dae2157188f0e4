"""A minimal DRF create: ModelSerializer + CreateAPIView, no authentication, no side effects.

What the framework, the database and gunicorn cost for one stored row; the ingest benchmark
compares the real report endpoint with it in the same run.
"""

from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny
from rest_framework_gis.fields import GeometryField

from bench.floor.models import FloorReport


class FloorReportSerializer(serializers.ModelSerializer):
    location = GeometryField()

    class Meta:
        model = FloorReport
        fields = ["uuid", "location", "received_at"]


class FloorReportCreateApi(generics.CreateAPIView):
    serializer_class = FloorReportSerializer
    queryset = FloorReport.objects.all()
    authentication_classes = []
    permission_classes = [AllowAny]

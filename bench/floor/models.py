import uuid

from django.contrib.gis.db import models


class FloorReport(models.Model):
    """A row with what an incident report minimally is: a client UUID and a point."""

    uuid = models.UUIDField(unique=True, default=uuid.uuid4)
    location = models.PointField(srid=4326)
    received_at = models.DateTimeField(auto_now_add=True)

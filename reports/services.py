"""Write use-cases for incident reports.

Only creation exists so far; offline sync, attachments, submission and review build on it.
"""

import uuid as uuid_lib
from datetime import datetime, timedelta

from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.models import User
from core.selectors import describe_location, sector_at
from patrols.models import PatrolPlan
from reports.models import IncidentReport

# Tablet clocks drift; a few minutes ahead of the server is still "now".
CLOCK_SKEW = timedelta(minutes=5)


def _as_wgs84(point: Point) -> Point:
    if point.srid is None:
        return Point(point.x, point.y, srid=4326)
    if point.srid != 4326:
        return point.transform(4326, clone=True)
    return point


@transaction.atomic
def incident_report_create(
    *,
    author: User,
    observed_at: datetime,
    location: Point,
    category: str,
    severity: int,
    description: str,
    patrol: PatrolPlan | None = None,
    status: str = IncidentReport.Status.DRAFT,
    uuid: uuid_lib.UUID | None = None,
) -> IncidentReport:
    """File an incident report; the sector and the location phrase are derived, never typed.

    Preconditions: `location` lies in the mission area (one of the five border provinces,
    within the tolerance of the generalised border); `observed_at` is not in the future.

    Effects: one IncidentReport row whose `sector` is the border province at `location` and
    whose `location_phrase` reads like "about 6 km SE of Jermuk, Vayots Dzor"; the audit
    trail records it. A `uuid` already used by the same author returns the stored report
    unchanged (a tablet's resend), so nothing is filed twice. Raises ValidationError naming
    the field for anything a user can get wrong.
    """
    if uuid is not None:
        existing = IncidentReport.objects.filter(uuid=uuid).first()
        if existing is not None:
            if existing.author_id != author.pk:
                raise ValidationError({"uuid": ["This report identifier is already in use."]})
            return existing

    location = _as_wgs84(location)
    sector = sector_at(location)
    if sector is None:
        raise ValidationError(
            {
                "location": [
                    f"{location.y:.5f}N {location.x:.5f}E is outside the mission area "
                    "(the five border provinces)."
                ]
            }
        )
    if timezone.is_naive(observed_at):
        raise ValidationError({"observed_at": ["The observation time must carry a time zone."]})
    if observed_at > timezone.now() + CLOCK_SKEW:
        raise ValidationError({"observed_at": ["The observation time cannot be in the future."]})

    report = IncidentReport(
        author=author,
        observed_at=observed_at,
        location=location,
        category=category,
        severity=severity,
        description=description,
        patrol=patrol,
        status=status,
        sector=sector,
        location_phrase=describe_location(location)[:160],
    )
    if uuid is not None:
        report.uuid = uuid
    report.full_clean()
    report.save()
    return report

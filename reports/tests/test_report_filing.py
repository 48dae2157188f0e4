"""Filing a report through the one receive path: where it may lie, what is derived from its
place, and a tablet's resend (the API's view of the same is test_report_filing_api)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError

from core.models import ForwardBase, User
from reports.models import IncidentReport
from reports.services.filing import incident_report_receive
from reports.tests.factories import IncidentReportFactory

pytestmark = pytest.mark.django_db

YEREVAN = ZoneInfo("Asia/Yerevan")
TBILISI = Point(44.79, 41.72, srid=4326)


def test_filing_rejects_a_location_in_georgia_naming_the_field(users):
    with pytest.raises(ValidationError) as caught:
        IncidentReportFactory(
            author=users["monitor"],
            observed_at=datetime.now(YEREVAN) - timedelta(hours=1),
            location=TBILISI,
            category=IncidentReport.Category.SMALL_ARMS,
            severity=2,
            description="Monitors heard gunfire.",
        )

    assert list(caught.value.message_dict) == ["location"]
    assert "outside the mission area" in caught.value.message_dict["location"][0]
    assert not IncidentReport.objects.exists()


def test_filing_derives_the_sector_and_the_phrase(users):
    jermuk = ForwardBase.objects.get(name="Jermuk").location
    # About 6 km south-east of Jermuk, as in the mission's reports.
    point = Point(jermuk.x + 0.0495, jermuk.y - 0.038, srid=4326)

    report = IncidentReportFactory(
        author=users["monitor"],
        observed_at=datetime.now(YEREVAN) - timedelta(hours=1),
        location=point,
        category=IncidentReport.Category.FORTIFICATION,
        severity=1,
        description="Monitors observed an excavator digging a trench.",
    )

    assert report.sector.name == "Vayots Dzor"
    assert report.location_phrase == "about 6 km SE of Jermuk, Vayots Dzor"


def test_filing_returns_the_stored_report_when_a_tablet_resends_it(users):
    fields = dict(
        observed_at=datetime.now(YEREVAN) - timedelta(hours=1),
        location=ForwardBase.objects.get(name="Goris").location,
        category=IncidentReport.Category.DRONE,
        severity=2,
        description="A drone over Goris.",
    )
    uuid = "6f1c1f0e-8f7a-4d0e-9a55-1d2f0c7b9e31"

    first, created = incident_report_receive(author=users["monitor"], uuid=uuid, fields=fields)
    again, again_created = incident_report_receive(
        author=users["monitor"], uuid=uuid, fields=fields
    )

    assert again.pk == first.pk and (created, again_created) == (True, False)
    assert IncidentReport.objects.count() == 1
    with pytest.raises(ValidationError) as caught:
        incident_report_receive(
            author=User.objects.get(username="t-team_leader"), uuid=uuid, fields=fields
        )
    assert list(caught.value.message_dict) == ["uuid"]

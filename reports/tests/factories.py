"""Incident reports and attachments for tests, made through the services as a tablet makes
them: a report is filed by `incident_report_receive` (checked, its sector and location phrase
derived from the point, audited, once per UUID), an attachment stored by `attachment_store`.

    IncidentReportFactory(author=monitor)                     # a draft near Kornidzor
    IncidentReportFactory(submitted=True, severity=4)         # submitted, not alerted
    IncidentReportFactory(reviewed=True)                      # marked reviewed by a duty officer
    IncidentReportFactory(reviewed=True, reviewed_by=officer)
    AttachmentFactory(report=report)                          # a small PNG, by its author
"""

import hashlib
import io
import uuid
from datetime import timedelta

import factory
from django.contrib.gis.geos import Point
from django.utils import timezone
from PIL import Image

from core.roles import Role
from core.tests.factories import UserFactory
from reports.models import Attachment, IncidentReport
from reports.services.attachments import attachment_store
from reports.services.filing import incident_report_receive
from reports.services.review import report_mark_reviewed

KORNIDZOR = (46.53, 39.55)  # in Syunik, a border village the monitors watch
S = IncidentReport.Status


class IncidentReportFactory(factory.Factory):
    """A report filed through the one receive path; a UUID filed already returns that report.

    `status` is any the service stores (the tablet sends draft or submitted; the demo's
    history is filed reviewed). The `reviewed` trait files it submitted and has a duty
    officer (`reviewed_by`, a new one unless given) mark it reviewed through the review
    service. `flash_alert` is False unless asked: a fixture's serious report alerts nobody
    (as the demo's history does not), so only the tests about alerts see one due.
    """

    class Meta:
        model = IncidentReport

    class Params:
        submitted = factory.Trait(status=S.SUBMITTED)
        reviewed = factory.Trait(
            status=S.SUBMITTED,
            reviewed_by=factory.SubFactory(UserFactory, roles=[Role.DUTY_OFFICER]),
        )

    author = factory.SubFactory(UserFactory, roles=[Role.MONITOR])
    uuid = factory.LazyFunction(uuid.uuid4)
    status = S.DRAFT
    observed_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    location = factory.LazyFunction(lambda: Point(*KORNIDZOR, srid=4326))
    category = IncidentReport.Category.SMALL_ARMS
    severity = 2
    description = "Bursts of small-arms fire heard to the east."
    reviewed_by = None
    flash_alert = False

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        kwargs.pop("flash_alert")
        return model_class(*args, **kwargs)

    @classmethod
    def _create(cls, model_class, *, author, uuid, reviewed_by, flash_alert, **fields):
        report, _ = incident_report_receive(
            author=author, uuid=uuid, fields=fields, flash_alert=flash_alert
        )
        if reviewed_by is not None:
            report = report_mark_reviewed(report=report, by=reviewed_by)
        return report


def png(width=8, height=8, colour=(90, 120, 60)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


class AttachmentFactory(factory.Factory):
    """A photo of a report, stored by its author through `attachment_store` (the same
    (report, bytes) again returns the stored attachment). Set MEDIA_ROOT to a temporary
    directory in the test: the files are written."""

    class Meta:
        model = Attachment

    report = factory.SubFactory(IncidentReportFactory, submitted=True)
    data = factory.LazyFunction(png)
    name = "photo.png"

    @classmethod
    def _create(cls, model_class, *, report, data, name):
        attachment, _ = attachment_store(
            report=report, by=report.author, data=data, name=name,
            declared_sha256=hashlib.sha256(data).hexdigest(),
        )  # fmt: skip
        return attachment

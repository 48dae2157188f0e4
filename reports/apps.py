from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"

    def ready(self):
        from django.conf import settings
        from PIL import Image

        from core.audit.anchors import register_source

        # Set deliberately, not left at Pillow's default: no image this process opens may
        # be larger than an attachment may be (reports.services.attachments checks it
        # first, from the header, and says so next to the field).
        Image.MAX_IMAGE_PIXELS = settings.ATTACHMENT_MAX_PIXELS
        from reports.summaries.anchors import summary_anchors

        # Every daily summary states the audit chain head: audit_verify checks them all.
        register_source(summary_anchors)

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

        from core.metrics import register_backlog
        from reports.selectors import flash_alerts_pending_count, summary_deliveries_pending_count

        register_backlog(
            "missionapp_outbox_backlog",
            "Messages not yet sent (queued or sending), by kind.",
            summary_deliveries_pending_count,
            kind="summary_delivery",
        )
        register_backlog(
            "missionapp_flash_alerts_pending",
            "Serious reports due for their flash alert, not yet alerted.",
            flash_alerts_pending_count,
        )

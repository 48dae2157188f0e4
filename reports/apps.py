from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"

    def ready(self):
        from core.audit.anchors import register_source
        from reports.summaries.anchors import summary_anchors

        # Every daily summary states the audit chain head: audit_verify checks them all.
        register_source(summary_anchors)

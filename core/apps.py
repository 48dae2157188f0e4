from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Mission core"

    def ready(self):
        from core import security
        from core.audit import registry

        registry.connect_signals()
        security.connect_signals()

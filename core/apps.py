from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Mission core"

    def ready(self):
        from core.audit import registry

        registry.connect_signals()

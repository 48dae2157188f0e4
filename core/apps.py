from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Mission core"

    def ready(self):
        from core import schema, security  # noqa: F401 - schema registers an extension
        from core.audit import registry

        registry.connect_signals()
        security.connect_signals()

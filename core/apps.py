"""Core's wiring when Django starts: the audit trail's and the security log's signal handlers,
SQLite's busy timeout set again on each connection, and the deploy check that ADMINS is set
(the audit check alerts them)."""

from django.apps import AppConfig
from django.core import checks
from django.db.backends.signals import connection_created


def _sqlite_busy_timeout(sender, connection, **kwargs):
    """Loading mod_spatialite resets SQLite's busy timeout to 5 s, after Django has set the
    configured one (OPTIONS "timeout", 30 s) and run init_command: web, worker, beat and the
    sealer share one file, and a writer waiting more than 5 s for another one failed with
    "database is locked". Set it again once the connection is made."""
    if connection.vendor != "sqlite":
        return
    timeout = connection.settings_dict.get("OPTIONS", {}).get("timeout")
    if timeout:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA busy_timeout = {int(float(timeout) * 1000)}")


def _administrators_to_alert(app_configs, **kwargs):
    from django.conf import settings
    from django.core.checks import Warning

    if settings.ADMINS:
        return []
    return [
        Warning(
            "ADMINS is empty: the hourly audit check would e-mail nobody that the chain is "
            "broken (it still logs it at CRITICAL).",
            hint="Set ADMINS in the environment (see .env.example).",
            id="missionapp.W001",
        )
    ]


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Mission core"

    def ready(self):
        from core import schema, security  # noqa: F401 - schema registers an extension
        from core.audit import signals

        signals.connect_signals()
        security.connect_signals()
        connection_created.connect(_sqlite_busy_timeout, dispatch_uid="sqlite-busy-timeout")
        checks.register(_administrators_to_alert, checks.Tags.security, deploy=True)

from django.apps import AppConfig


class FloorConfig(AppConfig):
    """The ingest benchmark's floor: the cheapest DRF create on the same server and database."""

    name = "bench.floor"
    label = "floor"
    default_auto_field = "django.db.models.BigAutoField"

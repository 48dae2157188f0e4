from django.apps import AppConfig


class PatrolsConfig(AppConfig):
    name = "patrols"

    def ready(self):
        from core.metrics import register_backlog
        from patrols.selectors import itinerary_notifications_unsent_count

        register_backlog(
            "missionapp_outbox_backlog",
            "Messages not yet sent (queued or sending), by kind.",
            itinerary_notifications_unsent_count,
            kind="itinerary_notification",
        )

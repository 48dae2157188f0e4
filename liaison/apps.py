from django.apps import AppConfig


class LiaisonConfig(AppConfig):
    name = "liaison"

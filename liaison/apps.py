"""The liaison app: contacts of the parties, the communication log, retention."""

from django.apps import AppConfig


class LiaisonConfig(AppConfig):
    name = "liaison"

"""`manage.py audit_key_new`: print a new audit sealing key to put first in AUDIT_KEYS."""

from django.core.management.base import BaseCommand

from core.audit.keys import generate_key


class Command(BaseCommand):
    help = "Print a new AUDIT_KEYS entry (key_id:secret). Put it first to rotate."

    def add_arguments(self, parser):
        parser.add_argument("--key-id", default=None)

    def handle(self, *args, key_id, **options):
        self.stdout.write(generate_key(key_id))

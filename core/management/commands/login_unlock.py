"""Lift a login lockout (core.security) before it ends by itself.

python manage.py login_unlock USERNAME          # the account
python manage.py login_unlock --address 1.2.3.4 # a client address (an office's)
"""

import logging

from django.core.management.base import BaseCommand, CommandError

from core import security

log = logging.getLogger("missionapp.security")


class Command(BaseCommand):
    help = "Lift the login lockout of an account or of a client address."

    def add_arguments(self, parser):
        parser.add_argument("username", nargs="?")
        parser.add_argument("--address", help="a client address (IPv4 or IPv6)")

    def handle(self, *args, username=None, address=None, **options):
        if not username and not address:
            raise CommandError("Name an account (USERNAME) or an address (--address).")
        security.login_unlock(username=username, address=address)
        log.warning("login lockout lifted for %s by manage.py", username or address)
        self.stdout.write(f"Lockout lifted for {username or address}.")

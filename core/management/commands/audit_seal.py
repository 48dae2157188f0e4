"""The sealer: chains the audit entries writers inserted (core.audit.services.audit_seal).

Run it as its own process beside the web and the worker (`--loop`); beat also seals every
AUDIT_SEAL_BACKSTOP_SECONDS in case it is not running. Two sealers never seal twice (the head
row is locked), so running more than one is harmless but useless.
"""

import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from core.audit.services import audit_seal


class Command(BaseCommand):
    help = "Seal the audit entries waiting; with --loop, keep doing so every interval."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Run until SIGTERM/SIGINT.")
        parser.add_argument(
            "--interval", type=float, default=None,
            help="Seconds between looks (default: AUDIT_SEAL_INTERVAL_SECONDS).",
        )  # fmt: skip

    def handle(self, *args, loop, interval, **options):
        interval = interval if interval is not None else settings.AUDIT_SEAL_INTERVAL_SECONDS
        if not loop:
            self.stdout.write(f"Sealed {audit_seal()} entries.")
            return
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"Audit sealer running (every {interval:g} s).", ending="\n")
        self.stdout.flush()
        while not stopping:
            close_old_connections()  # a lost database connection is reopened, not fatal
            try:
                audit_seal()
            except Exception as exc:  # noqa: BLE001 - a sealer that dies seals nothing
                self.stderr.write(f"audit_seal failed (retrying): {exc}")
            deadline = time.monotonic() + interval
            while not stopping and time.monotonic() < deadline:
                time.sleep(min(0.1, interval))
        self.stdout.write("Audit sealer stopped.")

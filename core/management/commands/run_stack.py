"""Run web + Celery worker + Celery beat + the audit sealer together in the foreground: the
demo, and a forward base's single machine on the embedded stack.

web is gunicorn with production's settings file (missionapp/gunicorn.conf.py), serving the
collected, hashed and compressed static files through whitenoise; they are collected first
when the sources changed since the last collection (core.staticfiles).

Ctrl-C (SIGINT) or SIGTERM stops all four; if one of them dies, the others are stopped too
and the command exits with an error, so a half-running demo never looks healthy.
"""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.staticfiles import collect_static_if_changed

GRACE_SECONDS = 15
WSGI_APPLICATION = "missionapp.wsgi:application"


def web_command() -> list[str]:
    """The web process: gunicorn with the settings file production's web role uses. Its
    address comes from GUNICORN_BIND, its workers from GUNICORN_WORKERS (the environment)."""
    config = settings.BASE_DIR / "missionapp" / "gunicorn.conf.py"
    return [sys.executable, "-m", "gunicorn", "--config", str(config), WSGI_APPLICATION]


class Command(BaseCommand):
    help = "Run web, a Celery worker, Celery beat and the audit sealer; Ctrl-C stops all."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--workers", type=int, default=None,
            help="gunicorn worker processes (default: GUNICORN_WORKERS, else 3)",
        )  # fmt: skip

    def handle(self, *args, host, port, workers, **options):
        python = sys.executable
        manage = str(settings.BASE_DIR / "manage.py")
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        if collect_static_if_changed():
            self.stdout.write(f"Collected the static files into {settings.STATIC_ROOT}.")
        commands = {
            "web": web_command(),
            "worker": [
                python, "-m", "celery", "-A", "missionapp", "worker",
                "--loglevel=INFO", "--concurrency=2", "--without-gossip", "--without-mingle",
            ],
            "beat": [
                python, "-m", "celery", "-A", "missionapp", "beat", "--loglevel=INFO",
                f"--schedule={settings.CELERY_BEAT_SCHEDULE_FILENAME}",
            ],
            "sealer": [python, manage, "audit_seal", "--loop"],
        }  # fmt: skip
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "GUNICORN_BIND": f"{host}:{port}"}
        # A forward base's server shows no debug pages to its network, and serves the hashed,
        # compressed static files: DEBUG only when the environment asks for it.
        env["DEBUG"] = os.environ.get("DEBUG", "false")
        if workers:
            env["GUNICORN_WORKERS"] = str(workers)
        # Links in e-mails (itinerary acknowledgements, flash alerts) point at this server,
        # on the port it runs on, unless SITE_URL says otherwise.
        env.setdefault("SITE_URL", f"http://{host}:{port}")
        procs = {}
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        for name, command in commands.items():
            procs[name] = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env)
        self.stdout.write(
            self.style.SUCCESS(
                f"missionapp is running at http://{host}:{port}/ "
                f"(web pid {procs['web'].pid}, worker pid {procs['worker'].pid}, "
                f"beat pid {procs['beat'].pid}, sealer pid {procs['sealer'].pid}). "
                "Press Ctrl-C to stop all of them."
            )
        )
        failed = None
        while not stopping:
            failed = next((n for n, p in procs.items() if p.poll() is not None), None)
            if failed:
                break
            time.sleep(0.3)
        self._stop_all(procs)
        if failed:
            raise CommandError(
                f"{failed} exited with code {procs[failed].returncode}; stopped all."
            )
        self.stdout.write("Stopped web, worker, beat and sealer.")

    def _stop_all(self, procs):
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        for proc in procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

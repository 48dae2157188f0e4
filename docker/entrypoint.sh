#!/bin/sh
# Entrypoint of the missionapp image. The first argument is the role of the container:
#
#   web      wait for the database, migrate, collect static files, then run gunicorn
#   worker   Celery worker
#   beat     Celery beat (schedule file under $MISSIONAPP_VAR_DIR, a named volume)
#   sealer   the audit sealer: chains the audit entries the others insert (one is enough)
#   manage   shortcut: `manage createsuperuser` runs `python manage.py createsuperuser`
#   *        any other command is run as given (e.g. `python manage.py shell`, `sh`)
#
# Every long-running role is exec'd, so gunicorn/celery get the container's signals.
set -eu

VAR_DIR="${MISSIONAPP_VAR_DIR:-/var/lib/missionapp}"
# manage.py and the missionapp package sit one level above this script (/app in the image).
cd "$(dirname "$0")/.."

wait_for_db() {
    # Settings errors (missing SECRET_KEY, ...) fail at once; only the connection is retried.
    python - <<'PY'
import os
import sys
import time

import django

django.setup()

from django.db import connection
from django.db.utils import OperationalError

timeout = float(os.environ.get("DB_WAIT_TIMEOUT", "60"))
deadline = time.monotonic() + timeout
while True:
    try:
        connection.ensure_connection()
    except OperationalError as exc:
        if time.monotonic() >= deadline:
            sys.exit(f"entrypoint: database still unreachable after {timeout:.0f}s: {exc}")
        print("entrypoint: waiting for the database ...", file=sys.stderr, flush=True)
        time.sleep(2)
    else:
        connection.close()
        break
PY
}

role="${1:-web}"
case "$role" in
    web)
        wait_for_db
        python manage.py migrate --noinput
        python manage.py collectstatic --noinput
        # Workers, threads, bind address, listen queue: missionapp/gunicorn.conf.py (the same
        # file `make demo` serves with), each from the environment.
        exec gunicorn --config missionapp/gunicorn.conf.py missionapp.wsgi:application
        ;;
    worker)
        exec celery -A missionapp worker --loglevel "${LOG_LEVEL:-INFO}"
        ;;
    beat)
        exec celery -A missionapp beat --loglevel "${LOG_LEVEL:-INFO}" \
            --schedule "$VAR_DIR/celerybeat-schedule"
        ;;
    sealer)
        # No wait for the database: the loop retries until it answers.
        exec python manage.py audit_seal --loop
        ;;
    manage)
        shift
        exec python manage.py "$@"
        ;;
    *)
        exec "$@"
        ;;
esac

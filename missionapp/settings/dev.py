"""The demo and a developer's machine: DEBUG on, embedded database and broker by default."""

import os
import secrets

from .base import *  # noqa: F403
from .base import VAR_DIR, env

DEBUG = env.bool("DEBUG", default=True)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])


def _machine_secret(name, make):
    """A secret made once per machine under var/, never in the repository (a file `name`
    holding `make()`). web, worker, beat and the sealer start together: the value is written
    aside and linked into place, which fails if another process was first, so every process
    ends up with the same one."""
    path = VAR_DIR / name
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        aside = VAR_DIR / f".{name}.{os.getpid()}"
        aside.write_text(make())
        aside.chmod(0o600)
        try:
            os.link(aside, path)
        except FileExistsError:
            pass
        finally:
            aside.unlink()
    return path.read_text().strip()


def _field_encryption_key():
    # Losing it makes the contacts' encrypted channels unreadable (the demo data can be
    # reloaded).
    from core.crypto import generate_key

    return generate_key()


def _audit_key():
    from core.audit.keys import generate_key

    return generate_key("dev")


SECRET_KEY = env.str("SECRET_KEY", default="") or _machine_secret(
    "secret_key", lambda: secrets.token_urlsafe(50)
)
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[]) or [
    _machine_secret("field_encryption_key", _field_encryption_key)
]

AUDIT_KEYS = env.list("AUDIT_KEYS", default=[]) or [_machine_secret("audit_key", _audit_key)]

# The demo's mail (itinerary notifications to the parties, escalations) is written to files
# under var/mail/, one file per connection, instead of being sent anywhere.
if not env.str("EMAIL_URL", default=""):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")

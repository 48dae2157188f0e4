"""The demo and a developer's machine: DEBUG on, embedded database and broker by default."""

import os
import secrets

from .base import *  # noqa: F403
from .base import VAR_DIR, env

DEBUG = env.bool("DEBUG", default=True)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])


def _machine_secret_key():
    # No secret in the repository: each machine makes its own once, under var/.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env.str("SECRET_KEY", default="") or _machine_secret_key()


def _machine_field_encryption_key():
    # Like the secret key: made once per machine under var/, never in the repository. Losing
    # it makes the contacts' encrypted channels unreadable (the demo data can be reloaded).
    from core.crypto import generate_key

    # web, worker and beat start together: the key is written aside and linked into place,
    # which fails if another process was first, so every process ends up with the same key.
    path = VAR_DIR / "field_encryption_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        aside = VAR_DIR / f".field_encryption_key.{os.getpid()}"
        aside.write_text(generate_key())
        aside.chmod(0o600)
        try:
            os.link(aside, path)
        except FileExistsError:
            pass
        finally:
            aside.unlink()
    return path.read_text().strip()


FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[]) or [
    _machine_field_encryption_key()
]


def _machine_audit_key():
    # The audit chain's HMAC key, made once per machine like the field key (same race).
    from core.audit.keys import generate_key

    path = VAR_DIR / "audit_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        aside = VAR_DIR / f".audit_key.{os.getpid()}"
        aside.write_text(generate_key("dev"))
        aside.chmod(0o600)
        try:
            os.link(aside, path)
        except FileExistsError:
            pass
        finally:
            aside.unlink()
    return path.read_text().strip()


AUDIT_KEYS = env.list("AUDIT_KEYS", default=[]) or [_machine_audit_key()]

# The demo's mail (itinerary notifications to the parties, escalations) is written to files
# under var/mail/, one file per connection, instead of being sent anywhere.
if not env.str("EMAIL_URL", default=""):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")

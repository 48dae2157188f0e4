"""Production: refuses to start without its secrets, and passes `manage.py check --deploy`."""

from django.core.exceptions import ImproperlyConfigured

from core.audit.keys import parse_keys
from core.crypto import decode_key

from .base import *  # noqa: F403
from .base import env, logging_config

DEBUG = False


def _required(name, cast=str):
    value = env.list(name, default=[]) if cast is list else env.str(name, default="")
    if not value:
        raise ImproperlyConfigured(
            f"{name} must be set in the environment for production (see .env.example)."
        )
    return value


SECRET_KEY = _required("SECRET_KEY")
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 random characters.")
ALLOWED_HOSTS = _required("ALLOWED_HOSTS", cast=list)
if "*" in ALLOWED_HOSTS:
    # A wildcard answers any Host header: password-reset and e-mail links could then be made
    # to point at an attacker's name. Name the hosts.
    raise ImproperlyConfigured("ALLOWED_HOSTS must name the hosts served, not '*'.")
FIELD_ENCRYPTION_KEYS = _required("FIELD_ENCRYPTION_KEYS", cast=list)
for _key in FIELD_ENCRYPTION_KEYS:
    decode_key(_key)  # refuses a placeholder or a key that is not 32 random bytes
AUDIT_KEYS = _required("AUDIT_KEYS", cast=list)
parse_keys(AUDIT_KEYS)  # refuses a placeholder, a short secret or a repeated key id
if not env.str("DATABASE_URL", default=""):
    raise ImproperlyConfigured("DATABASE_URL must point at PostGIS in production.")
# The login lockout and the API's throttles count in the cache: one each gunicorn worker had
# for itself let an attacker guess (workers x limit) times.
_required("CACHE_URL")
if CACHES["default"]["BACKEND"].rsplit(".", 1)[-1] in ("LocMemCache", "DummyCache"):  # noqa: F405
    raise ImproperlyConfigured(
        "CACHE_URL must be a cache every process shares (redis://... or dbcache://...), not "
        "one per process: the login lockout counts in it."
    )

# HTTPS is terminated in front of gunicorn (the reverse proxy sets X-Forwarded-Proto).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Probes and Prometheus ask over plain HTTP from inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
# nosniff, Referrer-Policy, X-Frame-Options and the CSP: in base.py, for every environment.

# Logs as JSON lines (core/logs.py) unless LOG_FORMAT=plain. The worker's and beat's too:
# Celery then leaves the root logger to Django's LOGGING instead of its own text format.
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING = logging_config(LOG_FORMAT)
if LOG_FORMAT == "json":
    CELERY_WORKER_HIJACK_ROOT_LOGGER = False

"""pytest: the dev settings, with fast hashing, a captured outbox and a file test database.

The test database is a file (SpatiaLite) or a real PostgreSQL database so that a Celery worker
started by the tests, in its own process, sees the same rows.
"""

from .dev import *  # noqa: F403
from .dev import DATABASES, VAR_DIR

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
if DATABASES["default"]["ENGINE"].endswith("spatialite"):
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_missionapp.sqlite3")}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

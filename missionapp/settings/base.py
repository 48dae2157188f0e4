"""Settings shared by every environment; everything that differs comes from the environment.

dev.py (the demo and a developer's machine), test.py (pytest) and production.py import this
module and only decide defaults and what is mandatory.
"""

from datetime import date, timedelta
from email.utils import parseaddr
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("MISSIONAPP_VAR_DIR", default=str(BASE_DIR / "var")))

# Settings come from the process environment only (docker-compose passes .env to it); a .env
# file on a developer's machine is not read, so it cannot change the demo or the tests.
env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "rest_framework_gis",
    "django_filters",
    "drf_spectacular",
    # Swagger UI's files, served from our own /static/ (no CDN: the mission works offline).
    "drf_spectacular_sidecar",
    "csp",
    "knox",
    "leaflet",
    "core",
    "liaison",
    "patrols",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # gunicorn serves the collected static files itself, on the embedded stack as in
    # production (no separate web server): hashed names cached for ever, gzip and Brotli.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # A request id for the logs, and the latency histogram (after whitenoise: static files
    # are neither logged with an id nor timed).
    "core.logs.RequestContextMiddleware",
    "core.metrics.RequestMetricsMiddleware",
    "csp.middleware.CSPMiddleware",
    "core.middleware.PermissionsPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Half-logged-in sessions (a second factor still to give) reach only its pages.
    "core.middleware.SecondFactorMiddleware",
    "core.middleware.AdminDateLookupMiddleware",
    "core.audit.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "missionapp.urls"
WSGI_APPLICATION = "missionapp.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "missionapp.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# spatialite:///abs/path (embedded default) or postgis://user:pass@host:port/name (production).
DATABASES = {
    # An empty DATABASE_URL counts as unset (production.py refuses it with a clear message).
    "default": env.db_url_config(
        env.str("DATABASE_URL", default="") or f"spatialite:///{VAR_DIR / 'missionapp.sqlite3'}"
    )
}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.contrib.gis.db.backends.spatialite":
    _db.setdefault("OPTIONS", {}).update(
        {
            # web, worker and beat share one file: wait for a lock instead of failing at once,
            # take the write lock when a transaction starts (no deadlocking lock upgrades),
            # and let readers go on while one process writes.
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    # A new PostgreSQL connection per request costs ~8x the throughput (see the brief);
    # keep connections and check them before reuse.
    _db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
    _db["CONN_HEALTH_CHECKS"] = True
    # Server-side binding and prepared statements: PostgreSQL parses and plans a statement a
    # connection repeats (the token lookup, the report and audit INSERTs) once, not on every
    # request: filing a report cost its backend 1.6 ms CPU, 1.0 ms with them
    # (bench/profile_report_create.py). Off behind a pooler in transaction mode that cannot
    # keep prepared statements (PgBouncer before 1.21).
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        _db.setdefault("OPTIONS", {}).update({"server_side_binding": True, "prepare_threshold": 5})
    if _db["CONN_MAX_AGE"]:
        # The Celery worker keeps its connections too (missionapp/celery.py): Celery's Django
        # fixup closes them around every task only while this is unset. It still closes them
        # every CELERY_DB_REUSE_MAX tasks; CONN_MAX_AGE decides long before that.
        CELERY_DB_REUSE_MAX = 100_000
SPATIALITE_LIBRARY_PATH = env.str("SPATIALITE_LIBRARY_PATH", default="mod_spatialite")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "core.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# ModelBackend, with the lockout (core/security.py): a locked-out login is refused before
# any password is checked.
AUTHENTICATION_BACKENDS = ["core.security.LockoutBackend"]
# --- Logins: lockout, the client's address, the second factor --------------------------------
# Failed logins (a wrong password or second-factor code, on the pages, the admin or the API)
# per account and per client address within the window; past either limit, that account or
# address is refused for the lockout time. An office behind one address has more people.
LOGIN_FAILURES_PER_ACCOUNT = env.int("LOGIN_FAILURES_PER_ACCOUNT", default=5)
LOGIN_FAILURES_PER_ADDRESS = env.int("LOGIN_FAILURES_PER_ADDRESS", default=20)
LOGIN_FAILURE_WINDOW_MINUTES = env.int("LOGIN_FAILURE_WINDOW_MINUTES", default=15)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
# The reverse proxies in front of gunicorn (addresses or networks): only from them is
# X-Forwarded-For believed, read from the right (core.security.client_address). Empty: the
# client is REMOTE_ADDR, whatever headers it sends.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
# The name authenticator apps show next to the account (core.totp.provisioning_uri).
SECOND_FACTOR_ISSUER = env.str("SECOND_FACTOR_ISSUER", default="missionapp")

# --- Cache: the login counters and the API's throttles -----------------------------------------
# Shared by every process, so that a limit holds across gunicorn's workers: Redis in
# production (CACHE_URL=redis://...), a table of the database on the embedded stack (made by
# core's migration 0007).
CACHES = {
    "default": env.cache_url_config(
        env.str("CACHE_URL", default="") or "dbcache://missionapp_cache"
    )
}
if CACHES["default"]["BACKEND"].endswith("RedisCache"):
    # A Redis that stops answering (a black-holed address, not a refusal) must not hold a
    # login or /healthz for ever: the web health check would then restart web.
    CACHES["default"].setdefault("OPTIONS", {}).update(
        {"socket_connect_timeout": 5, "socket_timeout": 5}
    )
if CACHES["default"]["BACKEND"].endswith("DatabaseCache"):
    # With an incr() that holds the row (core/cache.py): Django's lost concurrent counts.
    CACHES["default"]["BACKEND"] = "core.cache.DatabaseCache"
    # Django's database cache keeps 300 entries and then culls a third of them, whatever
    # they are: an attacker filling it with lockouts of made-up accounts culled the real one
    # and guessed again. Counters expire after the window (15 min), so the table stays as
    # small as the failures of that long. (Redis, as compose runs it, evicts nothing.)
    CACHES["default"].setdefault("OPTIONS", {})["MAX_ENTRIES"] = env.int(
        "CACHE_MAX_ENTRIES", default=1_000_000
    )

# --- Time: the mission works in Yerevan time, headquarters in Brussels ----------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Yerevan")
HEADQUARTERS_TIME_ZONE = env.str("HEADQUARTERS_TIME_ZONE", default="Europe/Brussels")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))


def media_s3_storage(bucket, *, endpoint_url, region, access_key, secret_key, prefix=""):
    """The default storage on a bucket (tests/s3.py points a test's storage at one too)."""
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint_url or None,
            "region_name": region or None,
            "access_key": access_key or None,
            "secret_key": secret_key or None,
            "default_acl": None,
            "querystring_auth": True,  # were a URL ever asked for: signed, never public
            "file_overwrite": False,
            "location": prefix,
            # A file read (to be served) is held in memory up to this, then in a temporary file.
            "max_memory_size": 2_621_440,
        },
    }


# Attachments: on the filesystem (MEDIA_ROOT) by default; in a bucket of an S3-compatible object
# store when MEDIA_S3_BUCKET is set, so that every web node serves every file. Objects are
# private (no ACL is sent: the bucket's owner only) and served only through the attachment
# view, never by a URL of the store; a name taken is never overwritten. The keys: from the
# environment only (or, unset, boto3's own chain: an instance role, ~/.aws).
MEDIA_S3_BUCKET = env.str("MEDIA_S3_BUCKET", default="")
MEDIA_STORAGE = (
    media_s3_storage(
        MEDIA_S3_BUCKET,
        endpoint_url=env.str("MEDIA_S3_ENDPOINT_URL", default=""),
        region=env.str("MEDIA_S3_REGION", default=""),
        access_key=env.str("MEDIA_S3_ACCESS_KEY_ID", default=""),
        secret_key=env.str("MEDIA_S3_SECRET_ACCESS_KEY", default=""),
        prefix=env.str("MEDIA_S3_PREFIX", default=""),
    )
    if MEDIA_S3_BUCKET
    else {"BACKEND": "django.core.files.storage.FileSystemStorage"}
)
STORAGES = {
    "default": MEDIA_STORAGE,
    # Names carry a hash of the content (a new release is never served from an old cache)
    # and a .gz and .br copy is made of every text file. With DEBUG the plain names are used,
    # so `runserver` needs no collectstatic.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- E-mail ---------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="missionapp@localhost")
# A mail server that stops answering must not hold a send (and its claim) for ever: past this
# many seconds the attempt fails and is retried. Kept well under SEND_CLAIM_LEASE_SECONDS.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
# How long a worker's claim on an e-mail being sent (a notification to a party, a summary to
# a recipient) holds before another worker may take it over: the worker died mid-send.
SEND_CLAIM_LEASE_SECONDS = env.int("SEND_CLAIM_LEASE_SECONDS", default=90)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Who is e-mailed when the hourly check finds the audit chain broken (and Django's error
# reports): addresses or "Name <address>", comma-separated. `check --deploy` warns if empty.
ADMINS = [parseaddr(address) for address in env.list("ADMINS", default=[])]

# --- Celery ---------------------------------------------------------------------------------
# filesystem:// is the embedded broker (a folder under var/), redis://... in production.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_DIR = Path(env.str("CELERY_BROKER_DIR", default=str(VAR_DIR / "broker")))
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport with whole messages only (missionapp/broker.py).
    CELERY_BROKER_TRANSPORT = "missionapp.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # One folder for in and out: every process on this machine reads the same queue.
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
        # How long a consumer waits before it lists the folder again when it found nothing
        # to take (kombu's default, 1 s, also paces a busy queue: with prefetch 1 a worker
        # took two tasks a second). A listing of the queue folder costs ~50 µs.
        "polling_interval": 0.1,
    }
# The queue tasks go to when nothing routes them elsewhere (a test gives its own workers one).
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
# A worker killed mid-task must not lose it: acknowledge after the work, redeliver on loss.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# --- Backups (core/backups/) ----------------------------------------------------------------
# Where `manage.py backup` and the nightly job write their archives (a volume of its own in
# docker-compose.yml; ship it off the machine).
BACKUP_DIR = Path(env.str("BACKUP_DIR", default=str(VAR_DIR / "backups")))
# When beat makes the nightly archive, in the mission's time (HH:MM): a quiet hour.
BACKUP_HOUR = env.str("BACKUP_HOUR", default="02:30")
# Archives of this many days are kept; older ones are deleted (never the newest).
BACKUP_KEEP_DAYS = env.int("BACKUP_KEEP_DAYS", default=14)
_backup_hour, _, _backup_minute = BACKUP_HOUR.partition(":")
if not (_backup_hour.isdigit() and _backup_minute.isdigit()
        and int(_backup_hour) < 24 and int(_backup_minute) < 60):  # fmt: skip
    raise ValueError(f"BACKUP_HOUR is HH:MM in the mission's time (02:30), not {BACKUP_HOUR!r}")

CELERY_BEAT_SCHEDULE = {
    # At most one archive per mission-local date, then the retention (core/backups/nightly.py).
    # crontab follows CELERY_TIMEZONE, the mission's.
    "backup-nightly": {
        "task": "core.tasks.backup_nightly",
        "schedule": crontab(hour=int(_backup_hour), minute=int(_backup_minute)),
    },
    # Beat sends at least this often, and the worker records running it (/healthz's beat).
    "health-beat": {
        "task": "core.tasks.health_beat",
        "schedule": env.float("HEALTH_BEAT_INTERVAL_SECONDS", default=60.0),
        "options": {"expires": env.float("HEALTH_BEAT_INTERVAL_SECONDS", default=60.0)},
    },
    "flash-alerts-backstop": {
        # Alerts are sent in batches after the filings that made them due; this drain only
        # catches what a lost task would have left (nothing due: nothing sent).
        "task": "reports.tasks.flash_alerts_send",
        "schedule": 30.0,
    },
    "audit-chain-verify": {
        "task": "core.tasks.audit_chain_verify",
        "schedule": env.float("AUDIT_VERIFY_INTERVAL_SECONDS", default=3600.0),
    },
    # Backstop of the sealer process (`manage.py audit_seal --loop`): if it is not running,
    # entries are still sealed within this interval. Both take the head row, so never twice.
    "audit-seal": {
        "task": "core.tasks.audit_seal",
        "schedule": env.float("AUDIT_SEAL_BACKSTOP_SECONDS", default=15.0),
        "options": {"expires": 15.0},
    },
    # Appends the sealed chain head to AUDIT_ANCHOR_FILE when it moved (idempotent).
    "audit-anchor": {
        "task": "core.tasks.audit_anchor",
        "schedule": env.float("AUDIT_ANCHOR_INTERVAL_SECONDS", default=60.0),
    },
    "device-tokens-purge-expired": {
        "task": "core.tasks.device_tokens_purge_expired",
        "schedule": 3600.0,
    },
    "itinerary-notifications-escalate": {
        "task": "patrols.tasks.itinerary_notifications_escalate",
        "schedule": 900.0,
    },
    # Partial photo uploads a tablet abandoned (idempotent: what is gone stays gone).
    "photo-uploads-purge-expired": {
        "task": "reports.tasks.photo_uploads_purge_expired",
        "schedule": 3600.0,
    },
    "liaison-contacts-anonymise-inactive": {
        "task": "liaison.tasks.contacts_anonymise_inactive",
        "schedule": 24 * 3600.0,
    },
    # Sends lost with a killed worker: claims older than SEND_CLAIM_LEASE_SECONDS are taken
    # over, so a lost notification or summary e-mail goes out within lease + interval (2 min).
    "itinerary-notifications-resend-stale": {
        "task": "patrols.tasks.itinerary_notifications_resend_stale",
        "schedule": env.float("RESEND_STALE_INTERVAL_SECONDS", default=30.0),
    },
    "summary-deliveries-resend-stale": {
        "task": "reports.tasks.summary_deliveries_resend_stale",
        "schedule": env.float("RESEND_STALE_INTERVAL_SECONDS", default=30.0),
    },
    # Builds each daily summary after its cut-off (and any missed while down), and revises the
    # last few when late reports arrived. Idempotent: an unchanged period changes nothing.
    "summaries-catch-up": {
        "task": "reports.tasks.summaries_catch_up",
        "schedule": env.float("SUMMARY_CHECK_INTERVAL_SECONDS", default=300.0),
    },
}

# --- The operator's view: /healthz, /metrics, logs (core/health.py, core/metrics.py) --------
# The worker writes its heartbeat this often; /healthz says "stale" (200, degraded) when the
# last one is older than the max age. Beat sends at least every HEALTH_BEAT_INTERVAL_SECONDS.
HEALTH_WORKER_HEARTBEAT_SECONDS = env.float("HEALTH_WORKER_HEARTBEAT_SECONDS", default=10.0)
HEALTH_WORKER_MAX_AGE_SECONDS = env.float("HEALTH_WORKER_MAX_AGE_SECONDS", default=60.0)
HEALTH_BEAT_MAX_AGE_SECONDS = env.float("HEALTH_BEAT_MAX_AGE_SECONDS", default=180.0)
# Who may read /metrics: clients (core.security.client_address) in these networks, or any
# client sending "Authorization: Bearer <METRICS_TOKEN>" (empty: no token accepted).
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# --- Daily situation summary ------------------------------------------------------------------
# The period ends at this time every day, in the mission's time zone.
SUMMARY_CUTOFF = env.str("SUMMARY_CUTOFF", default="19:30")
# Closed periods rebuilt (a revision if late reports changed them) for this many days.
SUMMARY_REVISION_DAYS = env.int("SUMMARY_REVISION_DAYS", default=3)
# With no summary yet, the first period to build (ISO date of its cut-off); default: the last.
SUMMARY_FIRST_DAY = env.str("SUMMARY_FIRST_DAY", default="")

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.authentication.DeviceTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "core.api.parsers.BoundedJSONParser",
        "core.api.parsers.CheckedFormParser",
        "core.api.parsers.CheckedMultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    "DEFAULT_VERSIONING_CLASS": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "missionapp API",
    "DESCRIPTION": (
        "Field reporting API of the border-monitoring mission. Authenticate with a device "
        "token (`Authorization: Token <token>` from `POST /api/auth/login/`). Every 4xx "
        "answer has the same shape: `{status, code, detail, errors: {field: [messages]}}`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs are for the mission's own people: no anonymous reader (an
    # anonymous request for the schema gets 401; the docs page sends them to log in).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Self-hosted (drf_spectacular_sidecar): no CDN, and the policy below allows no other host.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Swagger UI would send the schema to validator.swagger.io for its badge.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "COMPONENT_SPLIT_REQUEST": True,
    # Every operation's errors come from core.api.schema.AutoSchema (DEFAULT_SCHEMA_CLASS).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.link_operations_on_one_object",
    ],
    "ENUM_NAME_OVERRIDES": {
        "IncidentCategoryEnum": "reports.models.IncidentReport.Category",
        "RestrictionCategoryEnum": "patrols.models.MovementRestriction.Category",
        "IncidentStatusEnum": "reports.models.IncidentReport.Status",
        "PatrolStatusEnum": "patrols.models.PatrolPlan.Status",
        "ContactChannelKindEnum": "liaison.models.ContactChannel.Kind",
        "LogEntryKindEnum": "liaison.models.LogEntry.Kind",
        "VerificationEnum": "reports.models.IncidentReport.Verification",
    },
}
KNOX_TOKEN_MODEL = "core.DeviceToken"
# knox's own migrations create its AuthToken table even when the model is swapped for ours;
# that orphan table would hold a foreign key to users. Our DeviceToken is the only table.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    # A tablet stays logged in across two weeks of patrols without signal; then it must log in.
    "TOKEN_TTL": timedelta(hours=env.int("DEVICE_TOKEN_TTL_HOURS", default=24 * 14)),
    "AUTO_REFRESH": False,
}

# --- Browser security headers --------------------------------------------------------------
# Every response says what the browser may do with it, in every environment (the demo and
# the tests see the same policy as production, so a page that breaks under it breaks here).
#
# Content-Security-Policy (django-csp): scripts and styles only from our own origin
# (/static/), never inline, except the few inline scripts django-leaflet writes to set up a
# map: they carry the response's nonce (`request.csp_nonce` in the templates, the widget's
# csp_nonce for the plan form and the admin). An injected <script>, onerror= attribute,
# style="" or javascript: URL does nothing. Images may be data: URIs (Leaflet, Swagger UI)
# and blob: URLs (the tablet's photo previews before upload). The page cannot be framed
# (frame-ancestors), nor post a form to another host, nor change its base URL. A response
# that sets its own policy (an upload served with a sandboxing one) keeps it.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "worker-src": [SELF],
        "manifest-src": [SELF],
        "frame-src": [NONE],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
SECURE_CONTENT_TYPE_NOSNIFF = True
# Links to other sites (a party's website in a contact) do not tell them which of our pages,
# with which report or plan id in its URL, the reader came from.
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"  # frame-ancestors 'none' for browsers without CSP level 2
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Permissions-Policy (core.middleware): no page may use the camera, microphone, location or
# other devices, except the tablet app (its pages, service worker and manifest live under
# /tablet/), which takes photos and reads GPS for the report being filed. Only features
# Chromium knows are listed: an unknown one is an error in the console of every page.
PERMISSIONS_POLICY = {
    feature: []
    for feature in [
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    ]
}
PERMISSIONS_POLICY_BY_PATH = {
    "/tablet/": {"camera": ["self"], "geolocation": ["self"]},
}

# --- Maps -----------------------------------------------------------------------------------
# No tile server: the mission's own layers (provinces, border) are drawn instead, so maps
# work with no internet. TILES can be set when a tile server is reachable.
LEAFLET_CONFIG = {
    "DEFAULT_CENTER": (40.0, 45.4),
    "DEFAULT_ZOOM": 8,
    "MIN_ZOOM": 6,
    "MAX_ZOOM": 17,
    "TILES": env.json("LEAFLET_TILES", default=[]),
    "ATTRIBUTION_PREFIX": "Made with Natural Earth; GeoNames (CC BY 4.0)",
    "RESET_VIEW": False,
}

# The base layer the mission supplies (core/basemap/): a raster MBTiles file the app serves
# at /tiles/<z>/<x>/<y>.<format>, drawn under the mission's own layers when present.
# `manage.py load_basemap FILE` checks a file and puts it here in one rename.
BASEMAP_MBTILES = Path(
    env.str("BASEMAP_MBTILES", default=str(VAR_DIR / "basemap" / "basemap.mbtiles"))
)
# Most a tablet stores of its sector's tiles for offline use: whole zoom levels, lowest first.
BASEMAP_PRECACHE_MAX_MB = env.float("BASEMAP_PRECACHE_MAX_MB", default=40)
# Most tiles a tablet of a role without a forward base (all sectors) is asked to store.
BASEMAP_PRECACHE_MAX_TILES = env.int("BASEMAP_PRECACHE_MAX_TILES", default=6000)

# --- Input bounds (core/geometry.py: every geometry enters through geometry_checked) ----------
# A patrol route drawn or taken from a GPS track at one point per 100 m over the whole 700 km
# border stays under this; more is a mistake or an attack on the spatial functions' time.
GEOMETRY_MAX_POINTS = env.int("GEOMETRY_MAX_POINTS", default=10_000)
# Geometry sent as text (WKT or a GeoJSON string in a form field), read before it is parsed.
GEOMETRY_MAX_TEXT_BYTES = env.int("GEOMETRY_MAX_TEXT_BYTES", default=1_000_000)
# Years a time or date sent to the API may carry (core.api.fields): the region's records since
# 2000 (earlier events are history, not reports), patrols planned at most a year or two ahead.
MISSION_YEARS = (env.int("MISSION_FIRST_YEAR", default=2000), date.today().year + 2)
# Plausibility bounds of the counts a report carries (reports.apis.incidents): beyond them a
# number is a typing slip (an extra zero) or an attack, and would distort the daily summary's
# totals.
REPORT_MAX_CASUALTIES = env.int("REPORT_MAX_CASUALTIES", default=10_000)
REPORT_MAX_EVENTS = env.int("REPORT_MAX_EVENTS", default=100_000)  # explosions, shots, bursts
# Smoke or flashes over a ridge line can be seen tens of km away; 100 km is beyond any report.
REPORT_MAX_DISTANCE_M = env.int("REPORT_MAX_DISTANCE_M", default=100_000)

# --- Mission rules --------------------------------------------------------------------------
# The reference border is a 1:10M line: points up to this far outside every province still
# belong to the nearest one (Kornidzor lies 0.48 km outside the generalised Syunik polygon).
PROVINCE_TOLERANCE_KM = env.float("PROVINCE_TOLERANCE_KM", default=2.0)
# Most fire is observed across the line: an incident may lie this far beyond the border when
# the observer stood in the mission area (reports.services.placement; the tablet checks it too).
INCIDENT_MAX_BEYOND_BORDER_KM = env.float("INCIDENT_MAX_BEYOND_BORDER_KM", default=25.0)
# Itineraries are notified to the parties this long before departure (a week ahead).
PATROL_NOTICE_DAYS = env.float("PATROL_NOTICE_DAYS", default=7)
# Route parts closer than this to the border need the coordinator's explicit acceptance.
PATROL_BORDER_WARNING_KM = env.float("PATROL_BORDER_WARNING_KM", default=1.0)
# Two approved patrols whose routes come this close, at overlapping times, are flagged.
PATROL_OVERLAP_KM = env.float("PATROL_OVERLAP_KM", default=1.0)
# A party that has not acknowledged this long before departure is escalated to the coordinator.
PATROL_ACK_ESCALATION_HOURS = env.float("PATROL_ACK_ESCALATION_HOURS", default=48)
# Track points farther than this from the notified route flag a deviation.
PATROL_DEVIATION_KM = env.float("PATROL_DEVIATION_KM", default=1.0)
# How long an acknowledgement link in a notification stays valid.
PATROL_ACK_LINK_DAYS = env.int("PATROL_ACK_LINK_DAYS", default=30)
# Incident report attachments: largest file accepted, and the thumbnail's longest side.
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_MB", default=20) * 1024 * 1024
# Largest photo accepted, in pixels, checked from the image's header before it is decoded.
# The mission's tablets take 12-16 MP photos (a phone's full-sensor mode up to 50 MP); 40 MP
# leaves room for those short of that mode while a decode stays near 160 MB (RGBA) and about
# a second. Pillow's own decompression-bomb limit is set to the same (reports.apps): it
# warned only above 89 MP and refused above 179 MP, by an exception that was a 500.
ATTACHMENT_MAX_PIXELS = env.int("ATTACHMENT_MAX_MEGAPIXELS", default=40) * 1_000_000
ATTACHMENT_THUMBNAIL_PX = 320
ATTACHMENT_DISPLAY_PX = 2048
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# How often the duty officers' incident map asks for what is new (seconds; 0: never).
INCIDENT_MAP_REFRESH_SECONDS = env.int("INCIDENT_MAP_REFRESH_SECONDS", default=30)
# Photos on a weak link (reports.services.uploads): the tablet downsizes a photo to this long
# edge (JPEG at this quality) before queueing it unless the monitor keeps the original, and
# sends it in parts of this size; a part is at most DATA_UPLOAD_MAX_MEMORY_SIZE.
PHOTO_LONG_EDGE_PX = env.int("PHOTO_LONG_EDGE_PX", default=1600)
PHOTO_JPEG_QUALITY = env.float("PHOTO_JPEG_QUALITY", default=0.8)
PHOTO_UPLOAD_CHUNK_KB = env.int("PHOTO_UPLOAD_CHUNK_KB", default=256)
# An upload not completed and not touched for this long is deleted with its parts (a
# tablet coming back later starts that photo again from its first byte).
PHOTO_UPLOAD_EXPIRY_HOURS = env.float("PHOTO_UPLOAD_EXPIRY_HOURS", default=168)
# At most this many uploads (and bytes) begun and not finished per member: each holds a
# its parts in the database until it completes or expires (a tablet sends one at a time).
PHOTO_UPLOADS_OPEN_MAX = env.int("PHOTO_UPLOADS_OPEN_MAX", default=30)
PHOTO_UPLOADS_OPEN_MAX_MB = env.int("PHOTO_UPLOADS_OPEN_MAX_MB", default=300)
# Reports with casualties or at least this severity alert duty officers and HQ at once.
FLASH_ALERT_SEVERITY = env.int("FLASH_ALERT_SEVERITY", default=4)
# Flash alerts that fall due within this many seconds go out together, this long after the
# first (one worker task and one mail connection per batch: reports.services.review).
FLASH_ALERT_BATCH_SECONDS = env.float("FLASH_ALERT_BATCH_SECONDS", default=1.0)
# Provinces and settlements are kept in each process's memory for the per-report lookups
# (core.selectors): a process re-reads them after this long (its own edits at once).
GEOGRAPHY_CACHE_SECONDS = env.float("GEOGRAPHY_CACHE_SECONDS", default=60.0)
# Liaison contacts not contacted (and not edited) for this long are anonymised by a daily job.
LIAISON_RETENTION_DAYS = env.int("LIAISON_RETENTION_DAYS", default=730)
# Keys of the encryption at rest of contacts' phone numbers and e-mail addresses (core.crypto):
# comma-separated, the first encrypts, all decrypt (rotation). Required in production.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
# Keys of the audit chain's HMAC seals (core.audit.keys): comma-separated key_id:secret, the
# first seals, all verify (rotation). Kept out of the database on purpose. Required in
# production; dev and test make one under var/.
AUDIT_KEYS = env.list("AUDIT_KEYS", default=[])
# Where beat appends the chain head (one JSON line per anchor); ship this file off the machine
# (or let it be copied by the backups): an anchor outside the database is what shows that no
# entry was rewritten or cut off the end since.
AUDIT_ANCHOR_FILE = Path(env.str("AUDIT_ANCHOR_FILE", default=str(VAR_DIR / "audit-anchors.jsonl")))
# How often the sealer process looks for new entries, and when waiting entries mean trouble.
AUDIT_SEAL_INTERVAL_SECONDS = env.float("AUDIT_SEAL_INTERVAL_SECONDS", default=0.5)
AUDIT_SEAL_LAG_ALERT_SECONDS = env.float("AUDIT_SEAL_LAG_ALERT_SECONDS", default=300.0)
# The public address of this server, for links in messages to the parties.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# LOG_FORMAT: "json" (one JSON object per line: core/logs.py; production's default) or
# "plain" (a line of text: the demo's and the tests' default).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")


def logging_config(log_format):
    if log_format not in ("json", "plain"):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f'LOG_FORMAT must be "json" or "plain", not {log_format!r}.')
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "json": {"()": "core.logs.JsonFormatter"},
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": log_format}},
        "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
        "loggers": {
            "missionapp.security": {"level": "INFO"},
        },
    }


LOGGING = logging_config(LOG_FORMAT)

# Debian 12 ships GDAL 3.6, which cannot block file/network access from spatial references.
# We never pass user-supplied SRS strings or file paths to GDAL (geometries arrive as GeoJSON
# or WKT in SRID 4326), so the warning is acknowledged here rather than hidden per command.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

# One image for every role of missionapp; the command picks the role (docker/entrypoint.sh):
#   web (default) - migrate, collectstatic, gunicorn on :8000
#   worker        - celery -A missionapp worker
#   beat          - celery -A missionapp beat
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=missionapp.settings.production \
    MISSIONAPP_VAR_DIR=/var/lib/missionapp \
    MEDIA_ROOT=/var/lib/missionapp/media \
    STATIC_ROOT=/app/staticfiles

# GeoDjango: GDAL, GEOS, PROJ (and SpatiaLite for the embedded database).
# WeasyPrint (PDF reports): Pango and a font. pg_dump/pg_restore for `manage backup` and
# `manage restore` (bookworm's client is PostgreSQL 15, the server's version).
RUN apt-get update \
    && apt-get install --yes --no-install-recommends \
        gdal-bin \
        libgdal32 \
        libgeos-c1v5 \
        libproj25 \
        libsqlite3-mod-spatialite \
        libpango-1.0-0 \
        libpangoft2-1.0-0 \
        fonts-dejavu-core \
        postgresql-client \
    && rm -rf /var/lib/apt/lists/*

# The processes run as an unprivileged user; the code stays owned by root (read-only for it).
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home \
        --home-dir /var/lib/missionapp --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first, so that a code change does not reinstall them. pyproject.toml declares
# `packages = []`: `pip install .` installs the pinned dependencies only.
COPY pyproject.toml ./
RUN pip install --no-cache-dir . \
    && rm -rf build ./*.egg-info

# The code; .dockerignore keeps secrets (.env), the local virtualenv, git history and local
# data out of the image.
COPY . ./

# Writable for the app user: collected static files (collectstatic runs when web starts),
# media, the backups and the beat schedule (named volumes are initialised with this ownership).
RUN mkdir -p /app/staticfiles /var/lib/missionapp/media /var/lib/missionapp/backups \
    && chown -R app:app /app/staticfiles /var/lib/missionapp \
    && chmod 0755 /app/docker/entrypoint.sh

USER app
EXPOSE 8000
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["web"]

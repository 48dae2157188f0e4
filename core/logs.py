"""Structured logs: one JSON object per line (LOG_FORMAT=json, production's default).

A small formatter of our own rather than python-json-logger: the fields are few and fixed
(time with its zone, level, logger, message, exception, the request's id, user and path, and
gunicorn's access fields), and it is one file we can read instead of a dependency whose
options we would mostly switch off. Nothing here imports Django's settings at import time:
gunicorn's master uses it for its own logs before Django is set up.

- `RequestContextMiddleware` (near the top of MIDDLEWARE) gives each request an id (the
  proxy's X-Request-ID when it is a plain token, else a new one), sets it on the response,
  and makes the request known to the log records written while it is served.
- `JsonFormatter` writes {"time", "level", "logger", "message", ...}; the request's fields
  when a request is being served (the user only if the request already looked it up: a log
  line never costs a query); for gunicorn's access log (logger "gunicorn.access") the
  method, path (without the query string, which can carry tokens), status, duration and
  the request id from the request's header.
"""

import contextvars
import json
import logging
import os
import re
import traceback
import uuid
from datetime import UTC, datetime

_request = contextvars.ContextVar("missionapp_request", default=None)
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")  # fullmatch: "$" would let a "\n" through
REQUEST_ID_HEADER = "X-Request-ID"


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.META.get("HTTP_X_REQUEST_ID", "")
        request.request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        token = _request.set(request)
        try:
            response = self.get_response(request)
        finally:
            _request.reset(token)
        response[REQUEST_ID_HEADER] = request.request_id
        return response


def _user_of(request):
    """The username if this request has already loaded its user, else None (no query)."""
    user = request.__dict__.get("user")
    if user is None:
        return None
    wrapped = getattr(user, "_wrapped", user)  # SimpleLazyObject until evaluated
    from django.utils.functional import empty

    if wrapped is empty or not getattr(wrapped, "is_authenticated", False):
        return None
    return wrapped.get_username()


# Fields of gunicorn's access log record (record.args is gunicorn's dict of atoms).
_ACCESS_FIELDS = {"m": "method", "U": "path", "s": "status", "B": "bytes", "h": "remote"}


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request = _request.get()
        if request is not None:
            entry["request_id"] = getattr(request, "request_id", None)
            entry["path"] = request.path
            entry["method"] = request.method
            user = _user_of(request)
            if user is not None:
                entry["user"] = user
        if record.name == "gunicorn.access" and isinstance(record.args, dict):
            atoms = record.args
            for atom, name in _ACCESS_FIELDS.items():
                if atom in atoms:
                    entry[name] = atoms[atom]
            if "D" in atoms:
                entry["duration_ms"] = round(int(atoms["D"]) / 1000, 1)
            # The response's (the one the application checked or made), never the client's
            # raw header, which gunicorn logs as sent.
            request_id = atoms.get("{x-request-id}o")
            if request_id and request_id != "-":
                entry["request_id"] = request_id
            if "s" in atoms:
                entry["status"] = int(atoms["s"])
        if record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info))
        if record.stack_info:
            entry["stack"] = record.stack_info
        # ASCII: U+2028 or U+0085 in a message would end the line for some readers.
        return json.dumps(entry, default=str, ensure_ascii=True)


def log_format():
    """LOG_FORMAT as the settings decide it, for gunicorn's master (which has no settings):
    the environment's, else json under the production settings and plain otherwise."""
    module = os.environ.get("DJANGO_SETTINGS_MODULE", "")
    return os.environ.get("LOG_FORMAT") or ("json" if module.endswith(".production") else "plain")


def gunicorn_logconfig_dict():
    """gunicorn's `logconfig_dict`: with JSON logs (log_format()), its error log and its
    access log through JsonFormatter on stderr and stdout (the access fields: see the
    module's docstring); else empty, which leaves gunicorn's own text lines."""
    if log_format() != "json":
        return {}
    level = os.environ.get("LOG_LEVEL", "INFO")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "core.logs.JsonFormatter"}},
        "handlers": {
            "error": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            },
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            },
        },  # fmt: skip
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["error"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
        },
        "root": {"level": level, "handlers": ["error"]},
    }

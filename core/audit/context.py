"""Who is writing: the request being served, or the command or task running.

Set once at the edge (middleware, token authentication, a command, a task) and read when an
audited model is saved, so services do not thread an `actor` through every call.
"""

import contextlib
import contextvars
import hashlib
import sys
from dataclasses import dataclass

from core.audit.models import AuditEntry


@dataclass(frozen=True)
class Origin:
    actor: object | None  # a core.User or None
    client: str
    client_ref: str = ""


_request = contextvars.ContextVar("audit_request", default=None)
_origin = contextvars.ContextVar("audit_origin", default=None)


def set_request(request):
    return _request.set(request)


def reset_request(token):
    _request.reset(token)


@contextlib.contextmanager
def acting_as(*, actor=None, client: str, client_ref: str = ""):
    """Attribute the writes inside the block to `actor` coming through `client`."""
    token = _origin.set(Origin(actor=actor, client=client, client_ref=client_ref))
    try:
        yield
    finally:
        _origin.reset(token)


def _session_fingerprint(request):
    # Never the session key itself (it is a credential): a short digest to correlate entries.
    key = getattr(getattr(request, "session", None), "session_key", None)
    return hashlib.sha256(key.encode()).hexdigest()[:12] if key else ""


def current_origin() -> Origin:
    origin = _origin.get()
    if origin is not None:
        return origin
    request = _request.get()
    if request is not None:
        user = getattr(request, "user", None)
        actor = user if user is not None and user.is_authenticated else None
        token_key = getattr(request, "audit_token_key", "")
        if token_key:
            return Origin(actor, AuditEntry.Client.TOKEN, token_key)
        client = (
            AuditEntry.Client.ADMIN
            if request.path.startswith("/admin/")
            else AuditEntry.Client.SESSION
        )
        return Origin(actor, client, _session_fingerprint(request))
    # Outside a request: a management command or a script.
    if len(sys.argv) > 1 and sys.argv[0].endswith("manage.py"):
        return Origin(None, AuditEntry.Client.COMMAND, " ".join(sys.argv[1:3])[:128])
    return Origin(None, AuditEntry.Client.SYSTEM, "")

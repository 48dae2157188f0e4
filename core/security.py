"""Who is logging in from where, and how often they may fail.

Security events worth an operator's attention go to the `missionapp.security` logger.

- `client_address(request)`: the address a request came from. REMOTE_ADDR, unless that is one
  of settings.TRUSTED_PROXIES (the reverse proxy in front of gunicorn): then the address that
  proxy saw, read from the right of X-Forwarded-For. A header a client wrote itself is never
  believed: sent straight to gunicorn, it changes nothing.
- Lockout (`login_locked`, `login_failure_record`, `login_success_record`): failed logins are
  counted per account and per client address in the shared cache (Redis in production, the
  database cache on the embedded stack: every web process sees the same counts). Past
  LOGIN_FAILURES_PER_ACCOUNT failures for one account, or LOGIN_FAILURES_PER_ADDRESS from one
  address (an IPv6 client counts by its /64), within LOGIN_FAILURE_WINDOW_MINUTES, that
  account or address is refused for LOGIN_LOCKOUT_MINUTES, even with the right password.
  Every login path counts: the login page, the admin's, the API's device login, and wrong
  second-factor codes. `LockoutBackend` (the authentication backend) refuses a locked login
  before any password is checked, so a locked account cannot be probed either.
"""

import hashlib
import ipaddress
import logging
import unicodedata
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.utils import timezone

log = logging.getLogger("missionapp.security")

# Set on the request when a login was refused by the lockout (its end, a datetime): the forms
# and the API say so instead of "wrong password", and the refusal is not counted again (a
# locked-out attacker who keeps trying must not push the end further for the real user).
LOCKED_UNTIL = "login_locked_until"


def _trusted_proxies():
    return [ipaddress.ip_network(p, strict=False) for p in settings.TRUSTED_PROXIES]


def _parse(address):
    try:
        return ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return None


def client_address(request) -> str:
    """The client's address; "?" when there is no request (a management command)."""
    if request is None:
        return "?"
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = _trusted_proxies()
    found = _parse(remote)
    if found is None or not any(found in net for net in proxies):
        return remote or "?"
    # Behind our own proxies: each one appends the address it received from. Walk from the
    # right past our proxies; the first other address is the client as our outermost proxy
    # saw it. Anything left of it was written by the client and is not believed.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for hop in reversed([h for h in forwarded.split(",") if h.strip()]):
        found = _parse(hop)
        if found is None:
            break  # garbage where our proxy writes: trust nothing further left
        if not any(found in net for net in proxies):
            return str(found)
    return remote


def _address_key(address: str) -> str:
    found = _parse(address)
    if found is not None and found.version == 6:
        # One IPv6 client holds a whole /64: counting single addresses would let it rotate.
        return str(ipaddress.ip_network(f"{found}/64", strict=False))
    return str(found) if found is not None else address


def _account_key(username) -> str:
    # Django compares usernames exactly, but `Admin` and `admin` (or their Unicode look-alikes)
    # must not get an attacker twice the guesses: counted as one.
    name = unicodedata.normalize("NFKC", str(username or "")).casefold().strip()
    return hashlib.sha256(name.encode()).hexdigest()[:32]


def _keys(username, address):
    return {
        "account": _account_key(username),
        "address": hashlib.sha256(_address_key(address).encode()).hexdigest()[:32],
    }


def _limits():
    return {
        "account": settings.LOGIN_FAILURES_PER_ACCOUNT,
        "address": settings.LOGIN_FAILURES_PER_ADDRESS,
    }


def login_locked(request, username):
    """The end of the lockout (a datetime) if this account or this client address is locked
    out; None when the login may go on."""
    keys = _keys(username, client_address(request))
    found = cache.get_many([f"login-locked:{kind}:{key}" for kind, key in keys.items()])
    ends = [until for until in found.values() if until and until > timezone.now()]
    return max(ends) if ends else None


def login_failure_record(request, username, *, why="wrong password") -> None:
    """Count a failed login for the account and the address; lock out either past its limit.

    A failure while locked out is not counted (the refusal already said so). Counters expire
    LOGIN_FAILURE_WINDOW_MINUTES after the first failure: slow guessing gets that many tries
    per window at most."""
    address = client_address(request)
    if request is not None and getattr(request, LOCKED_UNTIL, None):
        return
    window = settings.LOGIN_FAILURE_WINDOW_MINUTES * 60
    lockout = timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    log.warning("failed login for %r from %s: %s", str(username)[:150], address, why)
    for kind, key in _keys(username, address).items():
        counter = f"login-failures:{kind}:{key}"
        # add() creates the counter only if absent (atomic on Redis and the database cache),
        # incr() counts on it (atomic on Redis).
        if cache.add(counter, 1, timeout=window):
            failures = 1
        else:
            try:
                failures = cache.incr(counter)
            except ValueError:  # expired between the two calls
                cache.add(counter, 1, timeout=window)
                failures = 1
        if failures >= _limits()[kind]:
            until = timezone.now() + lockout
            cache.set(f"login-locked:{kind}:{key}", until, timeout=int(lockout.total_seconds()))
            cache.delete(counter)
            log.warning(
                "login locked out: %s %s after %d failures (from %s), until %s",
                kind,
                repr(str(username)[:150]) if kind == "account" else _address_key(address),
                failures,
                address,
                until.isoformat(),
            )


def login_success_record(request, username) -> None:
    """A successful login clears the account's count, not the address's: logging in to one's
    own account must not buy an attacker at the same address more guesses at others."""
    cache.delete(f"login-failures:account:{_account_key(username)}")


def login_unlock(*, username=None, address=None) -> None:
    """Lift a lockout (and its count) for an account or an address (manage.py login_unlock)."""
    keys = []
    if username is not None:
        keys.append(f"account:{_account_key(username)}")
    if address is not None:
        keys.append(f"address:{hashlib.sha256(_address_key(address).encode()).hexdigest()[:32]}")
    cache.delete_many([f"login-{what}:{key}" for key in keys for what in ("locked", "failures")])


class LockoutBackend(ModelBackend):
    """Django's ModelBackend that refuses a locked-out login before it checks the password
    (Django's authenticate() stops at PermissionDenied and sends user_login_failed, which
    _on_login_failed does not count again)."""

    def authenticate(self, request, username=None, password=None, **credentials):
        if username is None:
            username = credentials.get(get_user_model().USERNAME_FIELD)
        until = login_locked(request, username)
        if until is not None:
            if request is not None:
                setattr(request, LOCKED_UNTIL, until)
            log.warning(
                "refused locked-out login for %r from %s (until %s)",
                str(username)[:150],
                client_address(request),
                until.isoformat(),
            )
            raise PermissionDenied("locked out")
        return super().authenticate(request, username=username, password=password, **credentials)


def locked_message(until) -> str:
    local = timezone.localtime(until)
    return (
        "Too many failed logins for this account or from this address: logins are refused "
        f"until {local:%H:%M} {local.tzname()} (Yerevan time). Ask an administrator if you "
        "need in sooner."
    )


def _on_login_failed(sender, credentials, request=None, **kwargs):
    # `credentials` has the password scrubbed by Django; only the username is logged.
    login_failure_record(request, credentials.get("username"))


# The session's second-factor state (core.middleware.SecondFactorMiddleware enforces it).
SECOND_FACTOR = "second_factor"
PENDING, VERIFIED, NOT_NEEDED = "pending", "verified", "not needed"


def _on_logged_in(sender, request, user, **kwargs):
    """Every login() (the login page, the admin's) opens a session that is only half logged
    in when the member needs a second factor: the middleware lets it reach the second-factor
    pages and nothing else until a code is checked. The lockout's count is cleared only
    when the login is complete: a password alone must not buy more guesses at the code."""
    from core.services import second_factor_required

    log.info("login of %s from %s", user.get_username(), client_address(request))
    session = getattr(request, "session", None)
    if second_factor_required(user):
        if session is not None:
            session[SECOND_FACTOR] = PENDING
    else:
        if session is not None:
            session[SECOND_FACTOR] = NOT_NEEDED
        login_success_record(request, user.get_username())


def second_factor_verified(request) -> None:
    """The session's login is complete: a new session key (the half-logged-in one could have
    been seen), the state recorded, the lockout's count of the account cleared."""
    request.session.cycle_key()
    request.session[SECOND_FACTOR] = VERIFIED
    login_success_record(request, request.user.get_username())


def connect_signals():
    user_login_failed.connect(_on_login_failed, dispatch_uid="security_login_failed")
    user_logged_in.connect(_on_logged_in, dispatch_uid="security_logged_in")

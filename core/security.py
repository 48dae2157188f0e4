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
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache, caches
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from core.cache import counter_add, counter_take_back

log = logging.getLogger("missionapp.security")

# Set on the request when a login was refused by the lockout (a Lockout): the forms and the
# API say so instead of "wrong password", and the refusal is not counted again (a locked-out
# attacker who keeps trying must not push the end further for the real user).
LOCKED_OUT = "login_lockout"
# Set on the request while an attempt counted before its check is being checked.
COUNTED = "login_attempt_counted"


_warned = set()


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
        if proxies and "HTTP_X_FORWARDED_FOR" in request.META and remote not in _warned:
            # Behind a proxy, a forwarded request from elsewhere means TRUSTED_PROXIES does
            # not name the proxy (every client then looks like it), or gunicorn is reachable
            # around it. Said once per address and process.
            _warned.add(remote)
            log.warning(
                "X-Forwarded-For from %s, which is not in TRUSTED_PROXIES: ignored (is "
                "TRUSTED_PROXIES the address the reverse proxy connects from?)",
                remote,
            )
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


@dataclass(frozen=True)
class Lockout:
    until: datetime
    kind: str  # "account" or "address": which limit was passed


def login_locked(request, username) -> Lockout | None:
    """The lockout of this account or this client address (the later-ending one, if both);
    None when the login may go on."""
    keys = _keys(username, client_address(request))
    names = {f"login-locked:{kind}:{key}": kind for kind, key in keys.items()}
    found = cache.get_many(list(names))
    now = timezone.now()
    live = [Lockout(until, names[name]) for name, until in found.items() if until and until > now]
    return max(live, key=lambda lockout: lockout.until) if live else None


def _count(counter, window) -> int:
    return counter_add(caches["default"], counter, window)


def _lock(kind, key, username, address, failures) -> Lockout:
    lockout = timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    until = timezone.now() + lockout
    cache.set(f"login-locked:{kind}:{key}", until, timeout=int(lockout.total_seconds()))
    # Counting starts afresh when the lockout ends (every attempt until then is refused by it
    # before it is counted).
    cache.delete(f"login-failures:{kind}:{key}")
    log.warning(
        "login locked out: %s %s after %d failures (from %s), until %s",
        kind,
        repr(str(username)[:150]) if kind == "account" else _address_key(address),
        failures,
        address,
        until.isoformat(),
    )
    return Lockout(until, kind)


def login_attempt_begin(request, username) -> Lockout | None:
    """Count an attempt (a password, a second-factor code) as a failure before it is checked:
    of many sent at once, only those within the limits are checked at all (counting after
    the check let a burst of 18 parallel guesses all be tried against a limit of 5). Returns
    the lockout when this attempt is past a limit: refuse it unchecked. A right answer takes
    the count back (login_attempt_succeeded)."""
    address = client_address(request)
    window = settings.LOGIN_FAILURE_WINDOW_MINUTES * 60
    found = None
    for kind, key in _keys(username, address).items():
        count = _count(f"login-failures:{kind}:{key}", window)
        if count > _limits()[kind]:
            found = _lock(kind, key, username, address, count)
    setattr(request, COUNTED, True)
    return found


def login_attempt_succeeded(request, username) -> None:
    """The attempt counted by login_attempt_begin was right: it was no failure."""
    if not getattr(request, COUNTED, False):
        return
    setattr(request, COUNTED, False)
    for kind, key in _keys(username, client_address(request)).items():
        counter_take_back(caches["default"], f"login-failures:{kind}:{key}")


def login_failure_record(request, username, *, why="wrong password") -> None:
    """A failed login for the account and the address: counted (unless login_attempt_begin
    counted it already), and either locked out once at its limit.

    A refusal by the lockout itself is not counted (it was logged when refused): a locked-out
    attacker who keeps trying must not push the end further for the real user. Counters
    expire LOGIN_FAILURE_WINDOW_MINUTES after the first failure: slow guessing gets that many
    tries per window at most."""
    if request is not None and getattr(request, LOCKED_OUT, None):
        return
    address = client_address(request)
    log.warning("failed login for %r from %s: %s", str(username)[:150], address, why)
    keys = _keys(username, address)
    if request is not None and getattr(request, COUNTED, False):
        setattr(request, COUNTED, False)
        names = {kind: f"login-failures:{kind}:{key}" for kind, key in keys.items()}
        found = cache.get_many(list(names.values()))
        counts = {kind: found.get(name, 0) for kind, name in names.items()}
    else:
        window = settings.LOGIN_FAILURE_WINDOW_MINUTES * 60
        counts = {
            kind: _count(f"login-failures:{kind}:{key}", window) for kind, key in keys.items()
        }
    for kind, key in keys.items():
        if counts[kind] >= _limits()[kind] and login_locked(request, username) is None:
            _lock(kind, key, username, address, counts[kind])


def login_success_record(request, username) -> None:
    """A complete login clears the account's count, not the address's: logging in to one's
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


def refuse_locked(request, username, lockout: Lockout, what="login") -> None:
    if request is not None:
        setattr(request, LOCKED_OUT, lockout)
    log.warning(
        "refused %s of %r from %s: locked out (%s) until %s",
        what,
        str(username)[:150],
        client_address(request),
        lockout.kind,
        lockout.until.isoformat(),
    )


class LockoutBackend(ModelBackend):
    """Django's ModelBackend that refuses a locked-out login before it checks the password,
    and counts each attempt before checking it (login_attempt_begin). Django's authenticate()
    stops at PermissionDenied and sends user_login_failed, which _on_login_failed does not
    count again."""

    def authenticate(self, request, username=None, password=None, **credentials):
        if username is None:
            username = credentials.get(get_user_model().USERNAME_FIELD)
        lockout = login_locked(request, username)
        if lockout is None and request is not None:
            # Without a request (authenticate() called by code, not a login) failures are
            # counted after the check, by the user_login_failed signal.
            lockout = login_attempt_begin(request, username)
        if lockout is not None:
            refuse_locked(request, username, lockout)
            raise PermissionDenied("locked out")
        user = super().authenticate(request, username=username, password=password, **credentials)
        if user is not None and request is not None:
            login_attempt_succeeded(request, username)
        return user


def locked_message(lockout: Lockout) -> str:
    local = timezone.localtime(lockout.until)
    which = "for this account" if lockout.kind == "account" else "from this address"
    return (
        f"Too many failed logins {which}: logins are refused until {local:%H:%M} (Yerevan "
        "time). Ask an administrator if you need in sooner."
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


def second_factor_url(name, target) -> str:
    """The URL of a second-factor page (`second-factor`, `second-factor-setup`) that sends
    the member on to `target` afterwards."""
    return f"{reverse(name)}?{urlencode({'next': target})}"


def second_factor_verified(request) -> None:
    """The session's login is complete: a new session key (the half-logged-in one could have
    been seen), the state recorded, the lockout's count of the account cleared."""
    request.session.cycle_key()
    request.session[SECOND_FACTOR] = VERIFIED
    login_success_record(request, request.user.get_username())


def connect_signals():
    user_login_failed.connect(_on_login_failed, dispatch_uid="security_login_failed")
    user_logged_in.connect(_on_logged_in, dispatch_uid="security_logged_in")

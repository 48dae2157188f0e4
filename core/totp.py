"""Time-based one-time passwords (RFC 6238, as authenticator apps make them: HMAC-SHA1,
6 digits, 30-second steps) and recovery codes.

Written here rather than taken from django-otp because django-otp keeps the TOTP secret and
the recovery codes in clear in the database; ours are encrypted (core.models.SecondFactor)
and hashed (core.models.RecoveryCode). The arithmetic is RFC 6238's, checked against the
RFC's own test vectors (core/tests/test_second_factor.py).
"""

import base64
import hashlib
import hmac
import secrets
import time
from urllib.parse import quote, urlencode

DIGITS = 6
PERIOD = 30
# A code of the step before or after also passes: a tablet's or a phone's clock a little off.
DRIFT_STEPS = 1
SECRET_BYTES = 20  # 160 bits, as RFC 4226 recommends for HMAC-SHA1
RECOVERY_CODES = 10
# 16 characters of base32: 80 random bits, so the stored SHA-256 cannot be searched back.
RECOVERY_CODE_CHARACTERS = 16


def new_secret() -> str:
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode().rstrip("=")


def _key(secret: str) -> bytes:
    padded = secret.upper() + "=" * (-len(secret) % 8)
    return base64.b32decode(padded)


def step_at(at: float | None = None) -> int:
    return int((time.time() if at is None else at) // PERIOD)


def code_at_step(secret: str, step: int, *, key: bytes | None = None) -> str:
    """The code of one 30-second step (RFC 4226's HOTP of the step count)."""
    mac = hmac.new(key or _key(secret), step.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    number = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return f"{number % 10**DIGITS:0{DIGITS}d}"


def code_now(secret: str, at: float | None = None) -> str:
    return code_at_step(secret, step_at(at))


def matching_step(secret: str, code: str, *, after_step: int, at: float | None = None):
    """The step whose code `code` is (now, or one step either side), if later than
    `after_step` (the last one accepted: each code is accepted once); else None. Compared in
    constant time."""
    key = _key(secret)
    now = step_at(at)
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if step > after_step and hmac.compare_digest(code_at_step(secret, step, key=key), code):
            return step
    return None


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    label = quote(f"{issuer}:{account}", safe="")
    query = urlencode({"secret": secret, "issuer": issuer, "digits": DIGITS, "period": PERIOD})
    return f"otpauth://totp/{label}?{query}"


def new_recovery_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()[:RECOVERY_CODE_CHARACTERS]
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def normalise(code: str) -> str:
    """What the member typed, without the spaces and dashes an app or a printout shows."""
    return "".join(ch for ch in str(code or "") if ch not in " -\t").lower()


def recovery_digest(code: str) -> str:
    return hashlib.sha256(normalise(code).encode()).hexdigest()

"""Encryption at rest of personal data (a contact's phone numbers and e-mail addresses).

Fernet from `cryptography` (AES-128-CBC with HMAC-SHA256, a random IV per value, the token
authenticated as a whole), through MultiFernet so keys can rotate: the first key of
`settings.FIELD_ENCRYPTION_KEYS` encrypts, every listed key decrypts, and `reencrypt` moves
a value to the first key.

Keys are Fernet keys: 32 random bytes in URL-safe base64 (`python manage.py shell -c "from
core.crypto import generate_key; print(generate_key())"`). Values are never logged by this
module, and the functions that hold a plaintext hide their variables from error reports.
"""

import base64
import binascii
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables


class DecryptionError(Exception):
    """A stored value was altered, or was encrypted with a key no longer configured."""


def generate_key() -> str:
    return Fernet.generate_key().decode()


def decode_key(key: str) -> bytes:
    """The key's 32 bytes; refuses a placeholder or anything that is not a Fernet key."""
    try:
        raw = base64.urlsafe_b64decode(key.encode())
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ImproperlyConfigured(
            "Each FIELD_ENCRYPTION_KEYS entry must be 32 random bytes in URL-safe base64 "
            "(see core/crypto.py: generate_key)."
        )
    return raw


@lru_cache(maxsize=4)
def _fernet(configured: tuple[str, ...]) -> MultiFernet:
    if not configured:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty: nothing can be encrypted.")
    for key in configured:
        decode_key(key)
    return MultiFernet([Fernet(key.encode()) for key in configured])


def _configured() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


@sensitive_variables()
def encrypt(plaintext: str) -> str:
    return _configured().encrypt(plaintext.encode()).decode("ascii")


@sensitive_variables()
def decrypt(token: str) -> str:
    try:
        return _configured().decrypt(token.encode()).decode()
    except (InvalidToken, UnicodeError) as exc:
        raise DecryptionError("the value was altered or its key is not configured") from exc


@sensitive_variables()
def reencrypt(token: str) -> str:
    """The same value under the current first key (for key rotation)."""
    try:
        return _configured().rotate(token.encode()).decode("ascii")
    except InvalidToken as exc:
        raise DecryptionError("the value was altered or its key is not configured") from exc

"""Encryption at rest of personal data (a contact's phone numbers and e-mail addresses).

Why not Fernet: the `cryptography` package is not among the pinned dependencies of this
deployment, so the same construction is built from the standard library's primitives:
encrypt-then-MAC with two keys derived from the configured key,

    keystream = HMAC-SHA256(enc_key, nonce || counter)   (a PRF in counter mode)
    tag       = HMAC-SHA256(mac_key, "m1" || key id || nonce || ciphertext)

with a fresh 16-byte random nonce per value. A token reads `m1$<key id>$<base64>`; the
version prefix lets a later format (Fernet, once `cryptography` is pinned) be introduced and
old values re-encrypted by `reencrypt`, and the key id lets keys rotate: the first key of
`settings.FIELD_ENCRYPTION_KEYS` encrypts, every listed key decrypts.

Keys are 32 random bytes, URL-safe base64 (`python manage.py shell -c "from core.crypto
import generate_key; print(generate_key())"`). Values are never logged by this module, and
the functions that hold a plaintext hide their local variables from Django's error reports.
"""

import base64
import binascii
import hashlib
import hmac
import secrets
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables

VERSION = "m1"
NONCE_BYTES = 16
TAG_BYTES = 32


class DecryptionError(Exception):
    """A stored value was altered, or was encrypted with a key no longer configured."""


def generate_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def decode_key(key: str) -> bytes:
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


class _Key:
    def __init__(self, raw: bytes):
        self.id = hashlib.sha256(raw).hexdigest()[:8]
        self.enc = hmac.new(raw, b"missionapp field encryption", hashlib.sha256).digest()
        self.mac = hmac.new(raw, b"missionapp field authentication", hashlib.sha256).digest()


@lru_cache(maxsize=4)
def _keys(configured: tuple[str, ...]) -> tuple[_Key, ...]:
    if not configured:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty: nothing can be encrypted.")
    return tuple(_Key(decode_key(k)) for k in configured)


def _configured() -> tuple[_Key, ...]:
    return _keys(tuple(settings.FIELD_ENCRYPTION_KEYS))


@sensitive_variables()
def _keystream_xor(key: _Key, nonce: bytes, data: bytes) -> bytes:
    out = bytearray()
    for counter in range(0, (len(data) + 31) // 32):
        block = hmac.new(key.enc, nonce + counter.to_bytes(8, "big"), hashlib.sha256).digest()
        chunk = data[counter * 32 : counter * 32 + 32]
        out.extend(a ^ b for a, b in zip(chunk, block, strict=False))
    return bytes(out)


def _tag(key: _Key, nonce: bytes, ciphertext: bytes) -> bytes:
    header = f"{VERSION}{key.id}".encode()
    return hmac.new(key.mac, header + nonce + ciphertext, hashlib.sha256).digest()


@sensitive_variables()
def encrypt(plaintext: str) -> str:
    key = _configured()[0]
    nonce = secrets.token_bytes(NONCE_BYTES)
    ciphertext = _keystream_xor(key, nonce, plaintext.encode())
    body = base64.urlsafe_b64encode(nonce + ciphertext + _tag(key, nonce, ciphertext)).decode()
    return f"{VERSION}${key.id}${body}"


@sensitive_variables()
def decrypt(token: str) -> str:
    try:
        version, key_id, body = token.split("$", 2)
        raw = base64.urlsafe_b64decode(body.encode())
    except (ValueError, binascii.Error) as exc:
        raise DecryptionError("not an encrypted value") from exc
    if version != VERSION or len(raw) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("not an encrypted value")
    nonce, ciphertext, tag = raw[:NONCE_BYTES], raw[NONCE_BYTES:-TAG_BYTES], raw[-TAG_BYTES:]
    for key in _configured():
        if key.id == key_id and hmac.compare_digest(tag, _tag(key, nonce, ciphertext)):
            return _keystream_xor(key, nonce, ciphertext).decode()
    raise DecryptionError("the value was altered or its key is not configured")


@sensitive_variables()
def reencrypt(token: str) -> str:
    """The same value under the current first key (for key rotation)."""
    return encrypt(decrypt(token))

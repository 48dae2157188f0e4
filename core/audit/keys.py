"""The audit chain's keys, kept outside the database (settings.AUDIT_KEYS).

Each entry of AUDIT_KEYS is `key_id:secret`, the secret at least 32 random bytes in URL-safe
base64 (`python manage.py audit_key_new` prints one). The first key seals new entries; every
listed key verifies, so a key is rotated by putting a new one first and keeping the old ones
for as long as entries sealed with them must be verified. The key id is stored with each
entry, never the key.
"""

import base64
import binascii
import re
import secrets
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


def generate_key(key_id: str | None = None) -> str:
    key_id = key_id or f"k{secrets.token_hex(3)}"
    return f"{key_id}:{base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}"


def parse_keys(entries) -> dict[str, bytes]:
    """key_id → secret, in the order given; refuses a placeholder or a short secret."""
    keys = {}
    for entry in entries:
        key_id, _, secret = str(entry).partition(":")
        if not secret or not KEY_ID.match(key_id):
            raise ImproperlyConfigured(
                "Each AUDIT_KEYS entry must be key_id:secret (key id: letters, digits, _ . -)."
            )
        try:
            raw = base64.urlsafe_b64decode(secret.encode())
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) < 32 or len(set(raw)) < 16:
            raise ImproperlyConfigured(
                f"AUDIT_KEYS key {key_id!r} must be at least 32 random bytes in URL-safe "
                "base64 (python manage.py audit_key_new prints one)."
            )
        if key_id in keys:
            raise ImproperlyConfigured(f"AUDIT_KEYS lists key id {key_id!r} twice.")
        keys[key_id] = raw
    if not keys:
        raise ImproperlyConfigured("AUDIT_KEYS must hold at least one key.")
    return keys


@lru_cache(maxsize=8)
def _keys(entries: tuple) -> dict[str, bytes]:
    return parse_keys(entries)


def keys() -> dict[str, bytes]:
    return _keys(tuple(settings.AUDIT_KEYS))


def sealing_key() -> tuple[str, bytes]:
    key_id, secret = next(iter(keys().items()))
    return key_id, secret


def key_for(key_id: str) -> bytes | None:
    return keys().get(key_id)

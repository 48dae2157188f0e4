"""Whose archive is it: a MAC over an archive's manifest.

The manifest lists every member's size and SHA-256, so whoever can write an archive (an
off-site copy, the backups volume) could recompute those and the `.sha256` sidecar for a
database they altered: both prove a copy is whole, not where it came from. The manifest is
therefore authenticated with HMAC-SHA256 under a key derived from the audit keys
(AUDIT_KEYS, kept in the environment, never in the database or the archive): restore refuses
an archive this installation's keys did not authenticate, before anything is written.
"""

import hashlib
import hmac
import json

from django.conf import settings

from core import crypto
from core.audit import keys

# Domain separation: the audit seals and the archives never share a MAC key.
LABEL = b"missionapp backup archive manifest v1"
FIELD = "authentication"


def _key(secret: bytes) -> bytes:
    return hmac.new(secret, LABEL, hashlib.sha256).digest()


def _mac(secret: bytes, manifest: dict) -> str:
    body = {name: value for name, value in manifest.items() if name != FIELD}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(_key(secret), canonical, hashlib.sha256).hexdigest()


def manifest_authenticate(manifest: dict) -> dict:
    """Add the MAC (under the audit keys' sealing key) to `manifest`; return it."""
    key_id, secret = keys.sealing_key()
    manifest[FIELD] = {"key_id": key_id, "hmac_sha256": _mac(secret, manifest)}
    return manifest


def manifest_unauthentic(manifest: dict) -> str | None:
    """None when one of AUDIT_KEYS authenticated the manifest; else why not."""
    given = manifest.get(FIELD)
    if not isinstance(given, dict):
        return "its manifest carries no authentication (not written by `manage.py backup`)"
    key_id = str(given.get("key_id"))
    secret = keys.key_for(key_id)
    if secret is None:
        return (f"it was authenticated with audit key {key_id!r}, which AUDIT_KEYS does not "
                "hold (restore with the keys of the installation that made it)")  # fmt: skip
    if not hmac.compare_digest(_mac(secret, manifest), str(given.get("hmac_sha256", ""))):
        return "its manifest's authentication does not match: it was altered after it was made"
    return None


def field_key_fingerprints(configured=None) -> list[str]:
    """A fingerprint of each of FIELD_ENCRYPTION_KEYS (an HMAC of a label under the key, never
    the key): the archive names the keys its contacts' channels were encrypted with, so that
    a restore without them is refused before it writes anything, not found out at the first
    contact opened."""
    label = b"missionapp field key fingerprint"
    keys_in_use = settings.FIELD_ENCRYPTION_KEYS if configured is None else configured
    return [hmac.new(crypto.decode_key(k), label, "sha256").hexdigest()[:16] for k in keys_in_use]


def field_keys_missing(manifest: dict) -> int:
    """How many of the keys the archive's rows were encrypted with FIELD_ENCRYPTION_KEYS
    lacks (0 for an archive that names none)."""
    return len(set(manifest.get("field_encryption_keys", [])) - set(field_key_fingerprints()))

"""Which models are audited, and what their audit entries record of a row: its snapshot
(excluded fields left out, redacted ones masked), the changes between two snapshots, the key
that names it in the trail.

Models opt in with `@audited(exclude=..., redact=...)`; core.audit.signals records their
writes through the ORM's save() and delete(). This module is the bottom of the trail: it
imports neither the services nor the signal handlers (models import it to opt in).
"""

from django.contrib.gis.geos import GEOSGeometry
from django.db import connection
from django.db.models.fields.files import FieldFile
from django.db.transaction import TransactionManagementError

_registry: dict[type, dict] = {}
REDACTED = "[redacted]"


def audited(exclude=(), redact=(), key="pk"):
    """Record writes to this model. `key` names the field that identifies a row in the trail
    (for a model whose primary key must not be shown, such as a token digest)."""

    def register(model):
        _registry[model] = {"exclude": set(exclude), "redact": set(redact), "key": key}
        return model

    return register


def options(model) -> dict | None:
    """How `model` is audited (exclude, redact, key); None when it is not."""
    return _registry.get(model)


def changes_of_new(instance) -> dict:
    """The changes a new row's audit entry records: what the post_save handler writes."""
    return diff({}, snapshot(instance), _registry[type(instance)]["redact"])


def object_key(instance) -> str:
    return str(getattr(instance, _registry.get(type(instance), {}).get("key", "pk")))


def snapshot(instance, only=None):
    options = _registry[type(instance)]
    values = {}
    for field in instance._meta.concrete_fields:
        if field.name in options["exclude"] or (only is not None and field.name not in only):
            continue
        value = field.value_from_object(instance)
        if isinstance(value, GEOSGeometry):
            value = value.ewkt
        elif isinstance(value, FieldFile):
            value = value.name or None
        values[field.attname] = value
    return values


def diff(before, after, redact):
    if not before:
        # A new row: every value it holds is a change (what the loop below gives, without
        # comparing the string form of each of a report's 40 fields with None's).
        return {
            name: [REDACTED, REDACTED] if name in redact else [None, value]
            for name, value in after.items() if value is not None
        }  # fmt: skip
    changes = {}
    for name in after.keys() | before.keys():
        old, new = before.get(name), after.get(name)
        if str(old) != str(new) or (old is None) != (new is None):
            changes[name] = [REDACTED, REDACTED] if name in redact else [old, new]
    return changes


def saved_fields(instance, update_fields):
    """The names of the fields a save(update_fields=...) writes; None for a whole save."""
    if update_fields is None:
        return None
    return {instance._meta.get_field(name).name for name in update_fields}


def audited_save_locked(instance, **values) -> None:
    """Set `values` on an instance read under its row lock (select_for_update, in the
    current transaction) and save just them, diffed against the values it was read with
    instead of reading the row a second time (a flash alert's claim read the report twice:
    ~0.4 ms of the task's CPU). Until the transaction ends the lock keeps those values the
    row's, so the entry is the one a second read would give."""
    if not connection.in_atomic_block:
        raise TransactionManagementError("audited_save_locked needs the transaction of the lock.")
    # The pre_save handler (core.audit.signals) diffs against this instead of reading.
    instance._audit_locked = snapshot(instance, set(values))
    try:
        for name, value in values.items():
            setattr(instance, name, value)
        instance.save(update_fields=list(values))
    finally:
        instance.__dict__.pop("_audit_locked", None)  # good for this save only

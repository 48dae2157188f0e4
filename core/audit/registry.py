"""Which models are audited, and the signal handlers that record their writes.

Models opt in with `@audited(exclude=..., redact=...)`. Writes through the ORM's save() and
delete() (the pages, the API, the admin, commands and tasks all go through them) are
recorded; bulk queryset.update()/bulk_create() bypass signals, so services must not use
them on audited models.
"""

from django.contrib.gis.geos import GEOSGeometry
from django.db import connection
from django.db.models.fields.files import FieldFile
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.db.transaction import TransactionManagementError

from core.audit.models import AuditEntry

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
    return _diff({}, _snapshot(instance), _registry[type(instance)]["redact"])


def object_key(instance) -> str:
    return str(getattr(instance, _registry.get(type(instance), {}).get("key", "pk")))


def _snapshot(instance, only=None):
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


def _diff(before, after, redact):
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


def _saved_fields(instance, update_fields):
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
    instance._audit_locked = _snapshot(instance, set(values))
    try:
        for name, value in values.items():
            setattr(instance, name, value)
        instance.save(update_fields=list(values))
    finally:
        instance.__dict__.pop("_audit_locked", None)  # good for this save only


def _on_pre_save(sender, instance, raw=False, update_fields=None, **kwargs):
    if sender not in _registry or raw:
        return
    before = None
    if instance.pk is not None and not instance._state.adding:
        only = _saved_fields(instance, update_fields)
        locked = instance.__dict__.pop("_audit_locked", None)  # good for one save only
        if only and locked is not None:
            attnames = {instance._meta.get_field(name).attname for name in only}
            if attnames <= locked.keys():
                instance._audit_before = {name: locked[name] for name in attnames}
                return
        old = sender._default_manager.filter(pk=instance.pk)
        # save(update_fields=...) writes only those: read only those back (a flash alert's
        # claim no longer reads the whole report, its geometries included).
        old = (old.only(*only) if only else old).first()
        before = _snapshot(old, only) if old is not None else None
    instance._audit_before = before


def _on_post_save(sender, instance, created, raw=False, update_fields=None, **kwargs):
    if sender not in _registry or raw:
        return
    if created and getattr(instance, "_audit_recorded", False):
        return  # written with the row, in the same statement (services.audited_insert)
    from core.audit.services import audit_append

    before = getattr(instance, "_audit_before", None) or {}
    after = _snapshot(instance, None if created else _saved_fields(instance, update_fields))
    changes = _diff(before, after, _registry[sender]["redact"])
    if not changes and not created:
        return  # a save that changed nothing is not a write worth a record
    action = AuditEntry.Action.CREATE if created else AuditEntry.Action.UPDATE
    audit_append(action=action, instance=instance, changes=changes)


def _on_post_delete(sender, instance, **kwargs):
    if sender not in _registry:
        return
    from core.audit.services import audit_append

    changes = _diff(_snapshot(instance), {}, _registry[sender]["redact"])
    audit_append(action=AuditEntry.Action.DELETE, instance=instance, changes=changes)


def _on_m2m_changed(sender, instance, action, model, pk_set, **kwargs):
    if type(instance) not in _registry or action not in ("post_add", "post_remove", "post_clear"):
        return
    from core.audit.services import audit_append

    field = next(
        (f.name for f in instance._meta.many_to_many if f.remote_field.through is sender), None
    )
    if field is None:
        return
    after = sorted(getattr(instance, field).values_list("pk", flat=True))
    verb = {"post_add": "added", "post_remove": "removed", "post_clear": "cleared"}[action]
    changes = {field: {verb: sorted(pk_set or []), "now": after}}
    audit_append(action=AuditEntry.Action.UPDATE, instance=instance, changes=changes)


def connect_signals():
    pre_save.connect(_on_pre_save, dispatch_uid="audit_pre_save")
    post_save.connect(_on_post_save, dispatch_uid="audit_post_save")
    post_delete.connect(_on_post_delete, dispatch_uid="audit_post_delete")
    m2m_changed.connect(_on_m2m_changed, dispatch_uid="audit_m2m_changed")

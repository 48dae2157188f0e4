"""The signal handlers that record the writes to audited models (core.audit.registry) in
the audit trail: every save(), delete() and many-to-many change through the ORM (the pages,
the API, the admin, commands and tasks all go through them) appends one entry
(core.audit.services.audit_append). Bulk queryset.update()/bulk_create() bypass signals, so
services must not use them on audited models.
"""

from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from core.audit import registry
from core.audit.models import AuditEntry
from core.audit.services import audit_append


def _on_pre_save(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or registry.options(sender) is None:
        return
    before = None
    if instance.pk is not None and not instance._state.adding:
        only = registry.saved_fields(instance, update_fields)
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
        before = registry.snapshot(old, only) if old is not None else None
    instance._audit_before = before


def _on_post_save(sender, instance, created, raw=False, update_fields=None, **kwargs):
    options = registry.options(sender)
    if raw or options is None:
        return
    if created and getattr(instance, "_audit_recorded", False):
        return  # written with the row, in the same statement (services.audited_insert)
    before = getattr(instance, "_audit_before", None) or {}
    only = None if created else registry.saved_fields(instance, update_fields)
    changes = registry.diff(before, registry.snapshot(instance, only), options["redact"])
    if not changes and not created:
        return  # a save that changed nothing is not a write worth a record
    action = AuditEntry.Action.CREATE if created else AuditEntry.Action.UPDATE
    audit_append(action=action, instance=instance, changes=changes)


def _on_post_delete(sender, instance, **kwargs):
    options = registry.options(sender)
    if options is None:
        return
    changes = registry.diff(registry.snapshot(instance), {}, options["redact"])
    audit_append(action=AuditEntry.Action.DELETE, instance=instance, changes=changes)


def _on_m2m_changed(sender, instance, action, model, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if registry.options(type(instance)) is None:
        return
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
    """Called once, when core is ready (core.apps)."""
    pre_save.connect(_on_pre_save, dispatch_uid="audit_pre_save")
    post_save.connect(_on_post_save, dispatch_uid="audit_post_save")
    post_delete.connect(_on_post_delete, dispatch_uid="audit_post_delete")
    m2m_changed.connect(_on_m2m_changed, dispatch_uid="audit_m2m_changed")

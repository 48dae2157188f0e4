"""One INSERT of a new row, without compiling the statement on every call.

Model.save() on a new row builds its INSERT anew each time (SQLInsertCompiler walks every
field, quotes every column, asks every field for its placeholder): for an incident report
(40 columns) ~0.3 ms of the ~4 ms a filing costs the web process, and ~0.15 ms for the audit
entry that records it. `insert_new` writes the same statement once per model, database and
set of placeholders, and does what save() does for a new row otherwise: the fields' own
pre_save (auto_now_add, defaults), the same value preparation, pre_save/post_save signals
(the audit trail listens to them), and the instance's state afterwards.
"""

import functools

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import signals


def insert_statement(model, placeholders: tuple[str, ...]) -> str:
    """insert_new's INSERT ... RETURNING key for `model` with these placeholders."""
    return _statement(model, connection.vendor, placeholders)


@functools.cache
def _statement(model, vendor: str, placeholders: tuple[str, ...]) -> str:
    ops = connection.ops
    fields = _fields(model)
    # Names from the model's metadata, quoted; every value is a parameter.
    return "INSERT INTO {} ({}) VALUES ({}) RETURNING {}".format(  # noqa: S608
        ops.quote_name(model._meta.db_table),
        ", ".join(ops.quote_name(f.column) for f in fields),
        ", ".join(placeholders),
        ops.quote_name(model._meta.pk.column),
    )


def insert_fields(model) -> tuple:
    """The columns insert_new writes for `model`, in the order of insert_values."""
    return _fields(model)


@functools.cache
def _fields(model) -> tuple:
    """The columns an insert writes: every concrete field but an auto-generated key."""
    meta = model._meta
    return tuple(
        f for f in meta.local_concrete_fields
        if not (f.primary_key and getattr(f, "db_returning", False)) and not f.generated
    )  # fmt: skip


def insertable(instance, db) -> bool:
    """Whether insert_new's statement can write this instance (else it uses save())."""
    meta = instance._meta
    return not (
        meta.parents  # multi-table inheritance: several inserts
        or meta.db_returning_fields != [meta.pk]  # database defaults or generated columns
        or instance.pk is not None  # a key chosen by the caller
        or not db.features.can_return_columns_from_insert
    )


def insert_values(instance, db) -> tuple[list[str], list]:
    """The placeholders and parameters of insert_new's statement for this instance, after
    the fields' own pre_save (auto_now_add, defaults) and value preparation."""
    placeholders, params = [], []
    for f in _fields(type(instance)):
        value = f.get_db_prep_save(f.pre_save(instance, True), db)
        if hasattr(value, "as_sql"):
            raise TypeError(
                f"{instance._meta.label}.{f.name}: insert_new takes values, not expressions."
            )
        # Geometry fields say how their value is written (PostGIS: as is; SpatiaLite:
        # GeomFromText(%s, 4326)); part of the cache key, so a change of form is still right.
        getter = getattr(f, "get_placeholder", None)
        placeholders.append(getter(value, None, db) if getter else "%s")
        params.append(value)
    return placeholders, params


def insert_new(instance, *, send_signals: bool = True, write=None) -> None:
    """instance.save() for a new row of a plain model (an auto primary key, no parent model),
    in the caller's transaction. `send_signals=False` only for models nobody listens to.
    `write(db, placeholders, params)` writes the row another way (a statement that writes
    what goes with it too: core.audit.services.audited_insert) and returns its new key."""
    model = type(instance)
    db = connections[DEFAULT_DB_ALIAS]  # once: each use of the `connection` proxy looks it up
    if not insertable(instance, db):
        instance.save(force_insert=True)  # outside what this shortcut covers: the ORM's way
        return
    instance._prepare_related_fields_for_save(operation_name="save")
    if send_signals:
        signals.pre_save.send(
            sender=model, instance=instance, raw=False, using=db.alias, update_fields=None
        )
    placeholders, params = insert_values(instance, db)
    if write is not None:
        instance.pk = write(db, placeholders, params)
    else:
        with db.cursor() as cursor:
            cursor.execute(_statement(model, db.vendor, tuple(placeholders)), params)
            instance.pk = cursor.fetchone()[0]
    instance._state.adding = False
    instance._state.db = db.alias
    if send_signals:
        signals.post_save.send(
            sender=model, instance=instance, created=True, update_fields=None, raw=False,
            using=db.alias,
        )  # fmt: skip

"""Migration operations for tables with geometry columns on SpatiaLite.

Django adds most columns on SQLite by remaking the table (a new table, a copy, a rename),
and on SpatiaLite the remake loses the geometry columns' registration
(geometry_columns_statistics then names a table geometry_columns no longer holds, and the
next foreign-key check fails). `AddFieldInPlace` is AddField (the same state, the same
operation on PostgreSQL) that adds the column in place on SQLite, with its unique index
when the field is unique.
"""

from django.db import migrations


class AddFieldInPlace(migrations.AddField):
    def __init__(self, model_name, name, field, sqlite_definition, **kwargs):
        # e.g. 'bool NOT NULL DEFAULT 0': SQLite keeps the default, which Django never reads.
        self.sqlite_definition = sqlite_definition
        super().__init__(model_name, name, field, **kwargs)

    def deconstruct(self):
        name, args, kwargs = super().deconstruct()
        kwargs["sqlite_definition"] = self.sqlite_definition
        return name, args, kwargs

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "sqlite":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        model = to_state.apps.get_model(app_label, self.model_name)
        field = model._meta.get_field(self.name)
        table, column = model._meta.db_table, field.column
        quote = schema_editor.quote_name
        schema_editor.execute(
            f"ALTER TABLE {quote(table)} ADD COLUMN {quote(column)} {self.sqlite_definition}"
        )
        if field.unique:
            schema_editor.execute(
                f"CREATE UNIQUE INDEX {quote(f'{table}_{column}_uniq')} "
                f"ON {quote(table)} ({quote(column)})"
            )

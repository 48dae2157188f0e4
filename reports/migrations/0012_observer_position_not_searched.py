"""Drop the spatial index of IncidentReport.observer_position (nothing searches by it).

Written by hand: Django cannot alter a geometry field on SpatiaLite ("they do not properly
define db_type"), so the state changes as AlterField would and the index is dropped with
each database's own statements.
"""

import django.contrib.gis.db.models.fields
from django.db import migrations

TABLE, COLUMN = "reports_incidentreport", "observer_position"


def _gist_indexes(cursor):
    cursor.execute(
        "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
        " JOIN pg_class t ON t.oid = x.indrelid JOIN pg_am am ON am.oid = i.relam"
        " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(x.indkey)"
        " WHERE t.relname = %s AND a.attname = %s AND am.amname = 'gist'",
        [TABLE, COLUMN],
    )
    return [name for (name,) in cursor.fetchall()]


def drop_index(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for name in _gist_indexes(cursor):
                cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
        else:
            cursor.execute(
                "SELECT spatial_index_enabled FROM geometry_columns"
                " WHERE f_table_name = %s AND f_geometry_column = %s",
                [TABLE, COLUMN],
            )
            row = cursor.fetchone()
            if row and row[0]:
                cursor.execute("SELECT DisableSpatialIndex(%s, %s)", [TABLE, COLUMN])
            cursor.execute(f'DROP TABLE IF EXISTS "idx_{TABLE}_{COLUMN}"')


def create_index(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            if not _gist_indexes(cursor):
                cursor.execute(
                    f'CREATE INDEX "{TABLE}_{COLUMN}_id" ON "{TABLE}" USING GIST ("{COLUMN}")'
                )
        else:
            cursor.execute("SELECT CreateSpatialIndex(%s, %s)", [TABLE, COLUMN])


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0011_fewer_indexes_per_report"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="incidentreport",
                    name="observer_position",
                    field=django.contrib.gis.db.models.fields.PointField(
                        blank=True, null=True, spatial_index=False, srid=4326
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(drop_index, create_index)],
        ),
    ]

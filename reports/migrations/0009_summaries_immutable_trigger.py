"""On PostgreSQL the database itself refuses to change or remove a stored summary, revision
or file: what headquarters downloaded stays what it was (a change is a new revision).

The application already refuses (ImmutableRow.save/delete); the trigger also stops raw SQL and
other programs. TRUNCATE is not a row operation and stays possible for an operator (and the
test runner) with the table owner's rights.
"""

from django.db import migrations

TABLES = ["reports_dailysummary", "reports_summaryrevision", "reports_summaryartefact"]
FUNCTION = """
CREATE OR REPLACE FUNCTION reports_summary_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is immutable: % refused (make a new revision)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION, params=None)
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION reports_summary_refuse_change();",
            params=None,
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table};", params=None)
    schema_editor.execute("DROP FUNCTION IF EXISTS reports_summary_refuse_change();", params=None)


class Migration(migrations.Migration):
    dependencies = [("reports", "0008_daily_summaries")]

    operations = [migrations.RunPython(forwards, backwards)]

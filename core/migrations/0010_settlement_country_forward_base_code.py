from django.core.validators import RegexValidator
from django.db import migrations, models

from core.migration_operations import AddFieldInPlace

CODES = {
    "Kapan": "KAP", "Goris": "GOR", "Jermuk": "JER", "Yeghegnadzor": "YEG", "Martuni": "MAR",
    "Ijevan": "IJE",
}  # fmt: skip


def codes_given(apps, schema_editor):
    """The six bases get their usual letters; any other base the first three letters of its
    name, made unique with a digit-free suffix from the alphabet if taken."""
    ForwardBase = apps.get_model("core", "ForwardBase")
    taken = set()
    for base in ForwardBase.objects.order_by("pk"):
        code = CODES.get(base.name) or "".join(c for c in base.name.upper() if c.isalpha())[:3]
        code = (code + "XXX")[:3]
        letters = iter("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        while code in taken:
            code = code[:2] + next(letters)
        taken.add(code)
        base.code = code
        base.save(update_fields=["code"])


def code_required(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute('ALTER TABLE "core_forwardbase" ALTER COLUMN "code" SET NOT NULL')
    schema_editor.execute(
        'CREATE UNIQUE INDEX "core_forwardbase_code_uniq" ON "core_forwardbase" ("code")'
    )


def code_optional(apps, schema_editor):
    schema_editor.execute('DROP INDEX IF EXISTS "core_forwardbase_code_uniq"')
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute('ALTER TABLE "core_forwardbase" ALTER COLUMN "code" DROP NOT NULL')


class Migration(migrations.Migration):
    dependencies = [("core", "0009_second_factor_unconfirmed_removed")]

    operations = [
        AddFieldInPlace(
            model_name="settlement",
            name="country",
            field=models.CharField(default="Armenia", max_length=64),
            sqlite_definition="varchar(64) NOT NULL DEFAULT 'Armenia'",
        ),
        AddFieldInPlace(
            model_name="forwardbase",
            name="code",
            field=models.CharField(max_length=3, null=True),
            sqlite_definition="varchar(3) NULL",
        ),
        migrations.RunPython(codes_given, migrations.RunPython.noop),
        # Unique and NOT NULL once every base has one. Not by AlterField on SpatiaLite (it
        # remakes the table: core.migration_operations): there a unique index, the column
        # stays nullable and load_geography and the admin always give a code.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="forwardbase",
                    name="code",
                    field=models.CharField(
                        help_text=(
                            "Three letters that begin the references of its reports "
                            "(KAP-2026-0142)."
                        ),
                        max_length=3,
                        unique=True,
                        validators=[
                            RegexValidator("^[A-Z]{3}$", "Three capital letters, e.g. KAP.")
                        ],
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(code_required, code_optional)],
        ),
    ]

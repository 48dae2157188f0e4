import django.core.validators
from django.db import migrations, models
from django.utils import timezone

from core.migration_operations import AddFieldInPlace


def references_given(apps, schema_editor):
    """Every stored report numbered as new ones are: per forward base of its author (MIS
    without one) and mission-local year of observation, in the order they were received,
    and the sequences left where the next report continues."""
    IncidentReport = apps.get_model("reports", "IncidentReport")
    ReferenceSequence = apps.get_model("reports", "ReferenceSequence")
    last = {}
    reports = IncidentReport.objects.select_related("author__forward_base").order_by(
        "received_at", "pk"
    )
    batch = []
    for report in reports.iterator(chunk_size=2000):
        base = report.author.forward_base
        prefix = base.code if base is not None and base.code else "MIS"
        year = timezone.localtime(report.observed_at).year
        number = last[prefix, year] = last.get((prefix, year), 0) + 1
        report.reference = f"{prefix}-{year}-{number:04d}"
        batch.append(report)
        if len(batch) >= 2000:
            IncidentReport.objects.bulk_update(batch, ["reference"])
            batch = []
    IncidentReport.objects.bulk_update(batch, ["reference"])
    ReferenceSequence.objects.bulk_create(
        ReferenceSequence(prefix=prefix, year=year, last=number)
        for (prefix, year), number in last.items()
    )


def reference_not_null(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            'ALTER TABLE "reports_incidentreport" ALTER COLUMN "reference" SET NOT NULL'
        )


def reference_nullable(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            'ALTER TABLE "reports_incidentreport" ALTER COLUMN "reference" DROP NOT NULL'
        )


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0016_summary_delivery_claim"),
        ("core", "0010_settlement_country_forward_base_code"),
    ]

    operations = [
        AddFieldInPlace(
            model_name="incidentreport",
            name="across_line",
            field=models.BooleanField(
                default=False,
                editable=False,
                help_text="The incident lies beyond the border; the observer stood in the mission area.",
                verbose_name="across the line",
            ),
            sqlite_definition="bool NOT NULL DEFAULT 0",
        ),
        AddFieldInPlace(
            model_name="incidentreport",
            name="reference",
            field=models.CharField(editable=False, max_length=24, null=True, unique=True),
            sqlite_definition="varchar(24) NULL",
        ),
        migrations.AlterField(
            model_name="incidentreport",
            name="severity",
            field=models.PositiveSmallIntegerField(
                choices=[
                    (1, "1 – Minor"),
                    (2, "2 – Limited"),
                    (3, "3 – Significant"),
                    (4, "4 – Serious"),
                    (5, "5 – Critical"),
                ],
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(5),
                ],
            ),
        ),
        migrations.CreateModel(
            name="ReferenceSequence",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("prefix", models.CharField(max_length=8)),
                ("year", models.PositiveSmallIntegerField()),
                ("last", models.PositiveIntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("prefix", "year"), name="reference_sequence_unique"
                    )
                ],
            },
        ),
        migrations.RunPython(references_given, migrations.RunPython.noop),
        # NOT NULL once every row has one. Not by AlterField: on SpatiaLite it remakes the
        # table (core.migration_operations says what that loses); there the column stays
        # nullable and the service, the one way a report is stored, always gives one.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="incidentreport",
                    name="reference",
                    field=models.CharField(editable=False, max_length=24, unique=True),
                ),
            ],
            database_operations=[migrations.RunPython(reference_not_null, reference_nullable)],
        ),
    ]

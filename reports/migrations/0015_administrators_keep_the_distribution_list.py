"""The administrator keeps the summaries' distribution list in the admin (README: "admin:
summary recipients") and reads the summaries and their download log there. The superuser did
so by holding every permission; since it holds only the Administrator group's (issue 11),
nobody could open these lists: the crawl test found them answering 403 to everyone."""

from django.db import migrations

from core.roles import grant_permissions

GRANTS = {
    "administrator": [
        "reports.view_summaryrecipient", "reports.add_summaryrecipient",
        "reports.change_summaryrecipient", "reports.delete_summaryrecipient",
        "reports.view_dailysummary", "reports.view_summarydownload",
    ],
}  # fmt: skip


def grant(apps, schema_editor):
    grant_permissions(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [("reports", "0014_attachment_names_fit_the_hash")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]

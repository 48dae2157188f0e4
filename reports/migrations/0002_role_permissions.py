from django.db import migrations

from core.roles import grant_permissions

VIEW = ["reports.view_incidentreport"]
FILE = ["reports.add_incidentreport", "reports.change_incidentreport"]
GRANTS = {
    "monitor": VIEW + FILE,
    "team_leader": VIEW + FILE,
    "coordinator": VIEW,
    "duty_officer": VIEW + ["reports.change_incidentreport"],
    "headquarters": VIEW,
    "administrator": VIEW,
}


def grant(apps, schema_editor):
    grant_permissions(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial"), ("core", "0002_roles")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]

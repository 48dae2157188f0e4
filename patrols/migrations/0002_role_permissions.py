from django.db import migrations

from core.roles import grant_permissions

VIEW = ["patrols.view_patrolplan"]
PLAN = ["patrols.add_patrolplan", "patrols.change_patrolplan"]
GRANTS = {
    "monitor": VIEW,
    "team_leader": VIEW + PLAN,
    "coordinator": VIEW + ["patrols.change_patrolplan"],
    "duty_officer": VIEW,
    "liaison_officer": VIEW,
    "headquarters": VIEW,
    "administrator": VIEW + PLAN,
}


def grant(apps, schema_editor):
    grant_permissions(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [("patrols", "0001_initial"), ("core", "0002_roles")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]

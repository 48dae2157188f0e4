from django.db import migrations

from core.roles import grant_permissions

GEOGRAPHY_VIEW = [
    "core.view_province",
    "core.view_bordersegment",
    "core.view_settlement",
    "core.view_forwardbase",
    "core.view_restrictedzone",
]
RESTRICTED_ZONES_MANAGE = [
    "core.add_restrictedzone",
    "core.change_restrictedzone",
    "core.delete_restrictedzone",
]
ADMINISTRATION = [
    f"core.{action}_{model}"
    for model in ("province", "bordersegment", "settlement", "forwardbase", "user")
    for action in ("add", "change", "view")
] + ["core.view_auditentry", "core.view_devicetoken", "core.delete_devicetoken",
     "auth.view_group", "auth.change_group"]

GRANTS = {
    "monitor": GEOGRAPHY_VIEW,
    "team_leader": GEOGRAPHY_VIEW,
    "coordinator": GEOGRAPHY_VIEW + RESTRICTED_ZONES_MANAGE,
    "duty_officer": GEOGRAPHY_VIEW,
    "liaison_officer": GEOGRAPHY_VIEW,
    "headquarters": GEOGRAPHY_VIEW,
    "administrator": GEOGRAPHY_VIEW + RESTRICTED_ZONES_MANAGE + ADMINISTRATION,
}


def create_roles(apps, schema_editor):
    grant_permissions(apps, GRANTS)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GRANTS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]

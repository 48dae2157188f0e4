from django.db import migrations

from core.roles import grant_permissions

# code, name, always notified. Parties not always notified receive the itineraries of the
# sectors a coordinator configures for them (admin: Parties).
PARTIES = [
    ("armenia", "Republic of Armenia", True),
    ("azerbaijan", "Republic of Azerbaijan", True),
    ("russian-border-guards", "Russian border guards", False),
    ("eusr", "Office of the EU Special Representative", False),
]

VIEW = [
    "patrols.view_patrolplan", "patrols.view_itineraryversion", "patrols.view_party",
    "patrols.view_itinerarynotification", "patrols.view_movementrestriction",
    "patrols.view_vehicle", "patrols.view_waypoint",
]  # fmt: skip
PLAN = [
    "patrols.add_patrolplan", "patrols.change_patrolplan",
    "patrols.add_vehicle", "patrols.change_vehicle", "patrols.delete_vehicle",
    "patrols.add_waypoint", "patrols.change_waypoint", "patrols.delete_waypoint",
    "patrols.add_movementrestriction", "patrols.add_trackpoint",
]  # fmt: skip
RECIPIENTS = [
    "patrols.view_notificationrecipient", "patrols.add_notificationrecipient",
    "patrols.change_notificationrecipient", "patrols.add_party", "patrols.change_party",
]  # fmt: skip
GRANTS = {
    "monitor": VIEW + ["patrols.add_movementrestriction"],
    "team_leader": VIEW + PLAN,
    "coordinator": VIEW + RECIPIENTS + ["patrols.change_itinerarynotification"],
    "duty_officer": VIEW,
    "liaison_officer": VIEW + RECIPIENTS + ["patrols.change_itinerarynotification"],
    "headquarters": VIEW,
    "administrator": VIEW + RECIPIENTS,
}


def forwards(apps, schema_editor):
    grant_permissions(apps, GRANTS)
    Party = apps.get_model("patrols", "Party")
    for code, name, always in PARTIES:
        Party.objects.get_or_create(code=code, defaults={"name": name, "always_notified": always})


class Migration(migrations.Migration):
    dependencies = [("patrols", "0003_itineraries_parties_execution")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

from django.db import migrations

from core.roles import grant_permissions

# Parties the issue names besides those patrols already had (patrols 0004): rows, so a new
# counterpart is added in the admin without a deployment.
PARTIES = [
    ("local-authority", "Local authority", False),
    ("international-organisation", "International organisation", False),
    ("other", "Other", False),
]

KEEP = [
    f"liaison.{verb}_{model}"
    for model in ("party", "organisation", "contact", "contactchannel", "logentry", "followup")
    for verb in ("view", "add", "change")
]
# Table-level permissions only; what each role sees of a contact is decided by
# liaison.selectors (monitors see hotlines of their own sector, headquarters counts only),
# and the access log is for administrators.
GRANTS = {
    "liaison_officer": KEEP,
    "coordinator": KEEP,
    "administrator": KEEP + [
        "liaison.delete_contact", "liaison.delete_contactchannel", "liaison.view_contactaccesslog",
    ],
    # The itinerary notifications name the party they went to.
    "monitor": ["liaison.view_party"],
    "team_leader": ["liaison.view_party"],
    "duty_officer": ["liaison.view_party"],
    "headquarters": ["liaison.view_party"],
}  # fmt: skip


def forwards(apps, schema_editor):
    grant_permissions(apps, GRANTS)
    Party = apps.get_model("liaison", "Party")
    for code, name, always in PARTIES:
        Party.objects.get_or_create(code=code, defaults={"name": name, "always_notified": always})


class Migration(migrations.Migration):
    dependencies = [
        ("liaison", "0001_initial"),
        ("patrols", "0005_parties_and_recipients_move_to_liaison"),
    ]

    operations = [
        # Patrols' references now point here: the table takes liaison's name (the sectors
        # table follows, and foreign keys to it are kept by the rename).
        migrations.AlterModelTable(name="party", table=None),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]

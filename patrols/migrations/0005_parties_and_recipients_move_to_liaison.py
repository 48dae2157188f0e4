"""Parties move to liaison (state only: the table is renamed by liaison 0002) and the
notification recipients become liaison contacts with an encrypted e-mail channel; the
notifications already queued or sent keep pointing at the same people, by channel id."""

import django.db.models.deletion
from django.db import migrations, models

# The permissions of the models that leave patrols. They are removed here; the tests'
# restore_role_groups() subtracts REVOKES from the GRANTS of earlier migrations.
REVOKES = {
    role: [
        "patrols.view_party", "patrols.add_party", "patrols.change_party",
        "patrols.view_notificationrecipient", "patrols.add_notificationrecipient",
        "patrols.change_notificationrecipient",
    ]
    for role in ("monitor", "team_leader", "coordinator", "duty_officer", "liaison_officer",
                 "headquarters", "administrator")
}  # fmt: skip


def recipients_to_contacts(apps, schema_editor):
    Recipient = apps.get_model("patrols", "NotificationRecipient")
    Contact = apps.get_model("liaison", "Contact")
    Channel = apps.get_model("liaison", "ContactChannel")
    Notification = apps.get_model("patrols", "ItineraryNotification")
    channel_of = {}
    for recipient in Recipient.objects.order_by("pk"):
        contact = Contact.objects.create(
            party_id=recipient.party_id,
            name_latin=recipient.name,
            receives_itineraries=recipient.active,
            notes="Itinerary notification recipient before liaison contacts existed.",
        )
        contact.itinerary_sectors.set(recipient.sectors.all())
        # The historical field encrypts the address as it is saved.
        channel = Channel.objects.create(contact=contact, kind="email", value=recipient.email,
                                         preferred=True)  # fmt: skip
        channel_of.setdefault((recipient.party_id, recipient.email.lower()), channel.pk)
    for notification in Notification.objects.exclude(recipients=[]):
        ids = []
        for address in notification.recipients:
            key = (notification.party_id, str(address).lower())
            if key not in channel_of:
                contact = Contact.objects.create(
                    party_id=notification.party_id, receives_itineraries=False,
                    notes="Address of an earlier itinerary notification.",
                )  # fmt: skip
                channel_of[key] = Channel.objects.create(
                    contact=contact, kind="email", value=str(address)
                ).pk
            ids.append(channel_of[key])
        notification.recipients = ids
        notification.save(update_fields=["recipients"])


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    codenames = {perm.split(".")[1] for perms in REVOKES.values() for perm in perms}
    Permission.objects.filter(content_type__app_label="patrols", codename__in=codenames).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("liaison", "0001_initial"),
        ("patrols", "0004_parties_and_permissions"),
    ]

    operations = [
        # Same table (patrols_party, renamed by liaison 0002 with its references): state only.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="itinerarynotification",
                    name="party",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="notifications",
                        to="liaison.party",
                    ),
                ),
            ],
            database_operations=[],
        ),
        migrations.AddField(
            model_name="patrolplan",
            name="liaison_log",
            field=models.ManyToManyField(
                blank=True, related_name="patrols", to="liaison.logentry"
            ),
        ),
        migrations.AlterField(
            model_name="itinerarynotification",
            name="recipients",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="Ids of the liaison contacts' e-mail channels, fixed when queued; the "
                "addresses are decrypted only when the message is sent.",
            ),
        ),
        migrations.RunPython(recipients_to_contacts, migrations.RunPython.noop),
        migrations.DeleteModel(name="NotificationRecipient"),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="party", name="sectors"),
                migrations.DeleteModel(name="Party"),
            ],
            database_operations=[],
        ),
        migrations.RunPython(revoke, migrations.RunPython.noop),
    ]

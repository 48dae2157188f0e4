"""Second factors begun and never confirmed (before the key being set up lived in the
session): removed, so that their members can set one up (the new set-up stores a row only
when confirmed, and one per member)."""

from django.db import migrations


def remove_unconfirmed(apps, schema_editor):
    SecondFactor = apps.get_model("core", "SecondFactor")
    SecondFactor.objects.filter(confirmed_at__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0008_device_token_second_factor")]

    operations = [migrations.RunPython(remove_unconfirmed, migrations.RunPython.noop)]

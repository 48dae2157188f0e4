

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('liaison', '0001_initial'),
        ('reports', '0006_list_and_queue_indexes'),
    ]

    operations = [
        migrations.AddField(
            model_name='incidentreport',
            name='liaison_log',
            field=models.ManyToManyField(blank=True, related_name='incidents', to='liaison.logentry'),
        ),
    ]


import core.fields
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('core', '0004_auditentry_object_pk_length'),
        ('patrols', '0004_parties_and_permissions'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The parties move here from patrols as they are (rows, ids and the sectors table):
        # state only, on patrols' table, renamed to liaison_party by 0002 once patrols'
        # references point here.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Party',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('code', models.SlugField(unique=True)),
                        ('name', models.CharField(max_length=128, unique=True)),
                        ('always_notified', models.BooleanField(default=False, help_text='Told of every itinerary (Armenia and Azerbaijan).')),
                        ('active', models.BooleanField(default=True)),
                        ('sectors', models.ManyToManyField(blank=True, help_text='For a party not always notified: the sectors whose itineraries it receives.', related_name='notified_parties', to='core.province')),
                    ],
                    options={
                        'verbose_name_plural': 'parties',
                        'ordering': ['-always_notified', 'name'],
                        'db_table': 'patrols_party',
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.CreateModel(
            name='Organisation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=160)),
                ('unit', models.CharField(blank=True, max_length=160)),
            ],
            options={
                'ordering': ['party', 'name', 'unit'],
            },
        ),
        migrations.CreateModel(
            name='Contact',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('position', models.CharField(blank=True, max_length=160, verbose_name='position or rank')),
                ('name_latin', models.CharField(blank=True, max_length=160, verbose_name='name (Latin script)')),
                ('name_original', models.CharField(blank=True, max_length=160, verbose_name='name (original script)')),
                ('script', models.CharField(blank=True, choices=[('armenian', 'Armenian'), ('azerbaijani', 'Azerbaijani'), ('russian', 'Russian (Cyrillic)'), ('other', 'Other')], max_length=16)),
                ('languages', models.CharField(blank=True, help_text='Languages spoken, e.g. Armenian, Russian, English.', max_length=128)),
                ('receives_itineraries', models.BooleanField(default=False, verbose_name='receives itinerary notifications')),
                ('is_party_fallback', models.BooleanField(default=False, help_text="Receives the party's itineraries of any sector that has no other recipient.", verbose_name="party's fallback recipient")),
                ('active_from', models.DateField(blank=True, null=True)),
                ('active_to', models.DateField(blank=True, null=True)),
                ('notes', models.TextField(blank=True)),
                ('last_contacted_at', models.DateTimeField(blank=True, help_text='Last log entry with this contact (retention).', null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('anonymised_at', models.DateTimeField(blank=True, null=True)),
                ('forward_bases', models.ManyToManyField(blank=True, related_name='contacts', to='core.forwardbase')),
                ('itinerary_sectors', models.ManyToManyField(blank=True, help_text='Sectors whose itineraries this contact receives; empty: every sector.', related_name='+', to='core.province')),
                ('sectors', models.ManyToManyField(blank=True, related_name='contacts', to='core.province')),
                ('organisation', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='contacts', to='liaison.organisation')),
            ],
            options={
                'ordering': ['party', 'name_latin', 'pk'],
            },
        ),
        migrations.CreateModel(
            name='ContactChannel',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('phone', 'Phone'), ('email', 'E-mail'), ('radio', 'Radio call sign'), ('hotline', 'Hotline')], max_length=16)),
                ('value', core.fields.EncryptedTextField()),
                ('label', models.CharField(blank=True, help_text='e.g. office, mobile, duty.', max_length=64)),
                ('preferred', models.BooleanField(default=False)),
                ('contact', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='channels', to='liaison.contact')),
            ],
            options={
                'ordering': ['contact', 'kind', '-preferred', 'pk'],
            },
        ),
        migrations.AddField(
            model_name='organisation',
            name='party',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='organisations', to='liaison.party'),
        ),
        migrations.CreateModel(
            name='LogEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('occurred_at', models.DateTimeField()),
                ('kind', models.CharField(choices=[('hotline', 'Hotline activation'), ('phone', 'Phone call'), ('meeting', 'Meeting'), ('written', 'Written message')], max_length=16)),
                ('topic', models.CharField(choices=[('incident', 'Incident clarification'), ('deescalation', 'De-escalation request'), ('itinerary', 'Itinerary'), ('water', 'Water and irrigation'), ('ecology', 'Ecology'), ('humanitarian', 'Humanitarian'), ('movement', 'Freedom of movement'), ('other', 'Other')], max_length=16)),
                ('summary', models.TextField()),
                ('outcome', models.TextField(blank=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('mission_staff', models.ManyToManyField(blank=True, related_name='liaison_log_entries', to=settings.AUTH_USER_MODEL)),
                ('participants', models.ManyToManyField(blank=True, related_name='log_entries', to='liaison.contact')),
                ('recorded_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('sector', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='core.province')),
                ('initiating_party', models.ForeignKey(blank=True, help_text='Empty: the mission initiated it.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='initiated_log_entries', to='liaison.party')),
            ],
            options={
                'verbose_name_plural': 'log entries',
                'ordering': ['-occurred_at', '-pk'],
            },
        ),
        migrations.AddField(
            model_name='contact',
            name='party',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='contacts', to='liaison.party'),
        ),
        migrations.CreateModel(
            name='ContactAccessLog',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('contact_ref', models.PositiveBigIntegerField(help_text="The contact's id, kept after erasure.")),
                ('at', models.DateTimeField(default=django.utils.timezone.now)),
                ('via', models.CharField(choices=[('page', 'Page'), ('api', 'API'), ('export', 'Subject access export')], max_length=8)),
                ('contact', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='access_log', to='liaison.contact')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-at', '-pk'],
                'indexes': [models.Index(fields=['contact_ref', 'at'], name='contact_access_idx')],
            },
        ),
        migrations.CreateModel(
            name='FollowUp',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('action', models.CharField(max_length=255)),
                ('due_on', models.DateField()),
                ('done_at', models.DateTimeField(blank=True, null=True)),
                ('owner', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='liaison_follow_ups', to=settings.AUTH_USER_MODEL)),
                ('entry', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='follow_ups', to='liaison.logentry')),
            ],
            options={
                'ordering': ['due_on', 'pk'],
                'indexes': [models.Index(fields=['done_at', 'due_on'], name='follow_up_open_idx')],
            },
        ),
        migrations.AddConstraint(
            model_name='organisation',
            constraint=models.UniqueConstraint(fields=('party', 'name', 'unit'), name='organisation_unique_per_party'),
        ),
        migrations.AddIndex(
            model_name='logentry',
            index=models.Index(fields=['kind', 'occurred_at'], name='log_entry_kind_time_idx'),
        ),
        migrations.AddIndex(
            model_name='contact',
            index=models.Index(fields=['anonymised_at', 'updated_at'], name='contact_retention_idx'),
        ),
        migrations.AddConstraint(
            model_name='contact',
            constraint=models.CheckConstraint(condition=models.Q(('active_to__isnull', True), ('active_from__isnull', True), ('active_to__gte', models.F('active_from')), _connector='OR'), name='contact_active_to_after_from', violation_error_message="'Active to' must not be before 'active from'."),
        ),
    ]

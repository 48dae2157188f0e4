"""The audit trail moves from one global lock to one sealer, and from SHA-256 to HMAC seals.

Writers now only insert entries; `seq`, `prev_mac`, `mac` and `key_id` are set later, once, by
the sealer. Existing entries were chained in id order under the old head lock, so they are
simply put back in the sealer's queue: its first run reseals them, in the same order, with
the HMAC key (which a migration must not need to know). On PostgreSQL the append-only trigger
is replaced by one that also allows that single sealing update, and nothing else.
"""

import hashlib
import json
import os

from django.db import migrations, models

TRIGGER = """
CREATE OR REPLACE FUNCTION core_auditentry_refuse_change() RETURNS trigger AS $$
BEGIN
    -- The one update an entry may receive: sealing a waiting entry, content untouched.
    IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL
       AND (NEW.id, NEW.at, NEW.actor_id, NEW.actor_label, NEW.client, NEW.client_ref,
            NEW.action, NEW.model, NEW.object_pk, NEW.object_repr, NEW.changes)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.at, OLD.actor_id, OLD.actor_label, OLD.client, OLD.client_ref,
            OLD.action, OLD.model, OLD.object_pk, OLD.object_repr, OLD.changes)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'core_auditentry is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER core_auditentry_append_only
    BEFORE UPDATE OR DELETE ON core_auditentry
    FOR EACH ROW EXECUTE FUNCTION core_auditentry_refuse_change();
"""
OLD_TRIGGER = """
CREATE OR REPLACE FUNCTION core_auditentry_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'core_auditentry is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER core_auditentry_append_only
    BEFORE UPDATE OR DELETE ON core_auditentry
    FOR EACH ROW EXECUTE FUNCTION core_auditentry_refuse_change();
"""
DROP = "DROP TRIGGER IF EXISTS core_auditentry_append_only ON core_auditentry;"


def on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


def old_chain_break(apps):
    """The first entry the old SHA-256 chain (before this migration) does not vouch for, or
    None: resealing must not launder tampering done before the upgrade."""
    entry_model = apps.get_model("core", "AuditEntry")
    expected_prev, expected_seq = "0" * 64, 1
    for entry in entry_model.objects.order_by("seq").iterator(chunk_size=2000):
        content = {
            "seq": entry.seq, "at": entry.at.isoformat(), "actor_id": entry.actor_id,
            "actor_label": entry.actor_label, "client": entry.client,
            "client_ref": entry.client_ref, "action": entry.action, "model": entry.model,
            "object_pk": entry.object_pk, "object_repr": entry.object_repr,
            "changes": entry.changes,
        }  # fmt: skip
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256((entry.prev_mac + canonical).encode()).hexdigest()
        if entry.seq != expected_seq or entry.prev_mac != expected_prev or digest != entry.mac:
            return entry.seq
        expected_prev, expected_seq = entry.mac, entry.seq + 1
    return None


def requeue(apps, schema_editor):
    broken = old_chain_break(apps)
    if broken is not None and os.environ.get("AUDIT_RESEAL_BROKEN_CHAIN") != "1":
        raise RuntimeError(
            f"The audit chain is already broken at entry #{broken} (old SHA-256 chain): it "
            "would be resealed as genuine. Investigate first (manage.py audit_verify on the "
            "previous version); to upgrade anyway, knowing the break is then no longer "
            "visible, run the migration with AUDIT_RESEAL_BROKEN_CHAIN=1."
        )
    schema_editor.execute(
        "UPDATE core_auditentry SET seq = NULL, prev_mac = '', mac = '', key_id = ''", params=None
    )
    schema_editor.execute(
        "UPDATE core_auditchainhead SET last_seq = 0, last_mac = %s", params=["0" * 64]
    )


class Migration(migrations.Migration):
    dependencies = [("core", "0004_auditentry_object_pk_length")]

    operations = [
        migrations.RunPython(on_postgresql(DROP), on_postgresql(OLD_TRIGGER)),
        migrations.RenameField("auditentry", "prev_hash", "prev_mac"),
        migrations.RenameField("auditentry", "hash", "mac"),
        migrations.RenameField("auditchainhead", "last_hash", "last_mac"),
        migrations.AlterField(
            model_name="auditentry",
            name="seq",
            field=models.PositiveBigIntegerField(blank=True, null=True, unique=True),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="prev_mac",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="mac",
            field=models.CharField(blank=True, help_text="HMAC-SHA256, hex", max_length=64),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="key_id",
            field=models.CharField(
                blank=True, help_text="Which AUDIT_KEYS key sealed it", max_length=32
            ),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="sealed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="auditchainhead",
            name="sealed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterModelOptions(
            name="auditentry",
            options={"ordering": ["id"], "verbose_name_plural": "audit entries"},
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(
                condition=models.Q(("seq__isnull", True)), fields=["id"], name="audit_waiting_idx"
            ),
        ),
        migrations.RunPython(requeue, migrations.RunPython.noop),
        migrations.RunPython(on_postgresql(TRIGGER), on_postgresql(DROP)),
    ]

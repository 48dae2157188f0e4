"""The audit trail: append-only records of every write to mission data, sealed into a keyed
hash chain.

Writers only INSERT an entry, in the transaction of the write it records, and never wait for
each other: no row is shared between writers (the old design locked one chain-head row for
the rest of every writing transaction, which serialised all writes and deadlocked with row
locks taken in another order). One sealer at a time (core.audit.services.audit_seal, run by
`manage.py audit_seal --loop` and by beat as a backstop) then gives each committed entry its
place in the chain, in the order the entries became visible, and an HMAC over its content and
the previous entry's MAC, with a key kept outside the database (settings.AUDIT_KEYS).
"""

import hashlib
import hmac
import json

from django.db import models

GENESIS_MAC = "0" * 64


class AppendOnlyError(Exception):
    pass


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Audit entries are append-only: they cannot be updated.")

    def delete(self):
        raise AppendOnlyError("Audit entries are append-only: they cannot be deleted.")

    def sealed(self):
        return self.filter(seq__isnull=False)

    def waiting(self):
        return self.filter(seq__isnull=True)


class AuditEntry(models.Model):
    """One write to mission data: who, when, which object, what changed, from which client.

    Inserted unsealed (`seq` empty). Sealing sets, once, `seq` (its place in the chain),
    `prev_mac` (the MAC of entry seq - 1), `key_id` and `mac` = HMAC(key, prev_mac + content),
    so editing, removing or reordering a sealed entry breaks its MAC or the next link, and
    only a holder of the key can recompute them.
    """

    class Action(models.TextChoices):
        CREATE = "create", "created"
        UPDATE = "update", "updated"
        DELETE = "delete", "deleted"

    class Client(models.TextChoices):
        SESSION = "session", "web session"
        ADMIN = "admin", "admin site"
        TOKEN = "token", "device token"
        COMMAND = "command", "management command"
        TASK = "task", "background task"
        SYSTEM = "system", "system"

    # Position in the chain, given by the sealer; unique, so two seals can never claim the
    # same place. Empty while the entry waits to be sealed.
    seq = models.PositiveBigIntegerField(unique=True, null=True, blank=True)
    at = models.DateTimeField()
    # No database constraint and no cascade: an entry must outlive the user it names, and a
    # cascade would have to UPDATE or DELETE audit rows, which the trigger refuses.
    actor = models.ForeignKey(
        "core.User",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        # audit_actor_idx (actor, at) serves lookups by actor; one index fewer per write.
        db_index=False,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(max_length=150, blank=True)
    client = models.CharField(max_length=16, choices=Client.choices)
    client_ref = models.CharField(
        max_length=128, blank=True, help_text="Device token key, session fingerprint or command."
    )
    action = models.CharField(max_length=8, choices=Action.choices)
    model = models.CharField(max_length=100, help_text="app_label.model_name")
    object_pk = models.CharField(max_length=200)
    object_repr = models.CharField(max_length=200)
    changes = models.JSONField(default=dict, help_text="field → [before, after]")
    prev_mac = models.CharField(max_length=64, blank=True)
    mac = models.CharField(max_length=64, blank=True, help_text="HMAC-SHA256, hex")
    key_id = models.CharField(max_length=32, blank=True, help_text="Which AUDIT_KEYS key sealed it")
    sealed_at = models.DateTimeField(null=True, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        # Insertion order: sealed entries keep it within one writer, and `seq` orders the chain.
        ordering = ["id"]
        verbose_name_plural = "audit entries"
        indexes = [
            # "What happened to this object?" is the question asked of the trail.
            models.Index(fields=["model", "object_pk"], name="audit_object_idx"),
            models.Index(fields=["actor", "at"], name="audit_actor_idx"),
            # The sealer's queue: only entries still waiting are in this index, so finding
            # them costs the same with ten entries or ten million (partial on both databases).
            models.Index(
                fields=["id"], condition=models.Q(seq__isnull=True), name="audit_waiting_idx"
            ),
        ]

    def __str__(self):
        who = self.actor_label or "system"
        place = f"#{self.seq}" if self.seq else f"(waiting, id {self.pk})"
        return f"{place} {who} {self.action} {self.model} {self.object_pk}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Audit entries are append-only: they cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit entries are append-only: they cannot be deleted.")

    def content(self):
        """What the MAC covers: the entry's place, its key and everything it records."""
        return {
            "seq": self.seq,
            "key_id": self.key_id,
            "at": self.at.isoformat(),
            "actor_id": self.actor_id,
            "actor_label": self.actor_label,
            "client": self.client,
            "client_ref": self.client_ref,
            "action": self.action,
            "model": self.model,
            "object_pk": self.object_pk,
            "object_repr": self.object_repr,
            "changes": self.changes,
        }

    def compute_mac(self, key: bytes) -> str:
        canonical = json.dumps(
            self.content(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return hmac.new(key, (self.prev_mac + canonical).encode(), hashlib.sha256).hexdigest()


class AuditChainHead(models.Model):
    """The single row that says where the sealed chain ends. Only the sealer writes
    `last_seq`/`last_mac` (it locks this row, so two sealers never fork the chain); writers
    never touch it. The last scheduled verification is kept here too, so alerts go out once
    per breakage."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.PositiveBigIntegerField(default=0)
    last_mac = models.CharField(max_length=64, default=GENESIS_MAC)
    sealed_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_ok = models.BooleanField(null=True)
    verified_problem = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="audit_chain_head_singleton")
        ]

    def __str__(self):
        return f"audit chain at #{self.last_seq}"

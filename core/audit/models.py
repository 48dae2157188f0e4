"""The audit trail: append-only, hash-chained records of every write to mission data."""

import hashlib
import json

from django.db import models

GENESIS_HASH = "0" * 64


class AppendOnlyError(Exception):
    pass


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Audit entries are append-only: they cannot be updated.")

    def delete(self):
        raise AppendOnlyError("Audit entries are append-only: they cannot be deleted.")


class AuditEntry(models.Model):
    """One write to mission data: who, when, which object, what changed, from which client.

    `hash` covers the entry's content and `prev_hash`, the hash of the entry before it
    (seq - 1), so editing, removing or reordering any entry breaks every hash after it.
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

    # Position in the chain: unique, so two appends can never claim the same place.
    seq = models.PositiveBigIntegerField(unique=True)
    at = models.DateTimeField()
    # No database constraint and no cascade: an entry must outlive the user it names, and a
    # cascade would have to UPDATE or DELETE audit rows, which the trigger refuses.
    actor = models.ForeignKey(
        "core.User",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
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
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]
        verbose_name_plural = "audit entries"
        indexes = [
            # "What happened to this object?" is the question asked of the trail.
            models.Index(fields=["model", "object_pk"], name="audit_object_idx"),
            models.Index(fields=["actor", "at"], name="audit_actor_idx"),
        ]

    def __str__(self):
        who = self.actor_label or "system"
        return f"#{self.seq} {who} {self.action} {self.model} {self.object_pk}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Audit entries are append-only: they cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit entries are append-only: they cannot be deleted.")

    def content(self):
        return {
            "seq": self.seq,
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

    def compute_hash(self):
        canonical = json.dumps(
            self.content(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return hashlib.sha256((self.prev_hash + canonical).encode()).hexdigest()


class AuditChainHead(models.Model):
    """The single row that says where the chain ends.

    Appends lock this row (SELECT ... FOR UPDATE) so they happen one at a time and the chain
    never forks; it also lets the verifier notice entries cut off the end of the chain.
    The last scheduled verification is kept here too, so alerts go out once per breakage.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_ok = models.BooleanField(null=True)
    verified_problem = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="audit_chain_head_singleton")
        ]

    def __str__(self):
        return f"audit chain at #{self.last_seq}"

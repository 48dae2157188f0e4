"""Appending to and verifying the audit chain."""

import json
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from core.audit.context import current_origin
from core.audit.models import GENESIS_HASH, AuditChainHead, AuditEntry
from core.audit.registry import object_key


def _json_safe(value):
    # What is hashed must be exactly what the database gives back: go through JSON once.
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _locked_head():
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        AuditChainHead.objects.get_or_create(pk=1)
        head = AuditChainHead.objects.select_for_update().get(pk=1)
    return head


@transaction.atomic
def audit_append(*, action: str, instance, changes: dict, origin=None) -> AuditEntry:
    """Append one entry for `instance` to the chain.

    Runs inside the caller's transaction, so the entry exists if and only if the write it
    records was committed. The chain head row is locked for the rest of that transaction:
    appends are serialised and two entries can never share a predecessor.
    """
    origin = origin or current_origin()
    actor = origin.actor
    head = _locked_head()
    entry = AuditEntry(
        seq=head.last_seq + 1,
        at=timezone.now(),
        actor_id=actor.pk if actor is not None else None,
        actor_label=actor.get_username() if actor is not None else "",
        client=origin.client,
        client_ref=origin.client_ref,
        action=action,
        model=instance._meta.label_lower,
        object_pk=object_key(instance),
        object_repr=str(instance)[:200],
        changes=_json_safe(changes),
        prev_hash=head.last_hash,
    )
    entry.hash = entry.compute_hash()
    entry.save()
    head.last_seq, head.last_hash = entry.seq, entry.hash
    head.save(update_fields=["last_seq", "last_hash"])
    return entry


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    broken_seq: int | None = None
    broken_id: int | None = None
    problem: str = ""

    def __str__(self):
        if self.ok:
            return f"Audit chain intact: {self.checked} entries verified."
        where = f"entry #{self.broken_seq} (id {self.broken_id})" if self.broken_seq else "chain"
        return f"Audit chain BROKEN at {where}: {self.problem}"


def audit_chain_verify() -> ChainReport:
    """Recompute every hash in order; name the first entry that does not match."""
    expected_prev, expected_seq, checked = GENESIS_HASH, 1, 0
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=2000):

        def broken(problem, entry=entry, checked=checked):
            return ChainReport(False, checked, entry.seq, entry.pk, problem)

        if entry.seq != expected_seq:
            return broken(f"expected #{expected_seq} here: entries are missing before it")
        if entry.prev_hash != expected_prev:
            return broken("its previous-hash does not match the entry before it")
        if entry.compute_hash() != entry.hash:
            return broken("its content does not match its hash (it was altered)")
        expected_prev, expected_seq, checked = entry.hash, entry.seq + 1, checked + 1
    head = AuditChainHead.objects.filter(pk=1).first()
    last_seq = head.last_seq if head else 0
    if last_seq != checked or (head and head.last_hash != expected_prev):
        return ChainReport(
            False,
            checked,
            problem=f"the chain ends at #{checked} but the head records #{last_seq}: "
            "entries were removed from its end",
        )
    return ChainReport(True, checked)

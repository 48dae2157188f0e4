"""Liaison use-cases: keeping contacts, logging reads of them, the communication log, and
retention (anonymising inactive contacts; subject access export and erasure).

Services check the role themselves (PermissionDenied), so a page, the API, the admin or a
task get the same rule.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.models import ForwardBase, Province, User
from liaison import selectors
from liaison.models import (
    Contact,
    ContactAccessLog,
    ContactChannel,
    FollowUp,
    LogEntry,
    Organisation,
    Party,
)

CONTACT_FIELDS = (
    "party", "organisation", "position", "name_latin", "name_original", "script", "languages",
    "receives_itineraries", "is_party_fallback", "active_from", "active_to", "notes",
)  # fmt: skip


@dataclass(frozen=True)
class ChannelSpec:
    kind: str
    value: str
    label: str = ""
    preferred: bool = False


@dataclass(frozen=True)
class FollowUpSpec:
    action: str
    owner: User
    due_on: date


def _require_full(by):
    if not selectors.can_keep_contacts(by):
        raise PermissionDenied("Only liaison officers, coordinators and administrators do this.")


def _set_channels(contact: Contact, channels: list[ChannelSpec]):
    errors = {}
    for index, spec in enumerate(channels):
        if not (spec.value or "").strip():
            errors[f"channels.{index}.value"] = ["Enter the number, address or call sign."]
        elif spec.kind == ContactChannel.Kind.EMAIL:
            try:
                validate_email(spec.value.strip())
            except ValidationError:
                # The message names the field, never the value typed.
                errors[f"channels.{index}.value"] = ["Enter a valid e-mail address."]
    if errors:
        raise ValidationError(errors)
    contact.channels.all().delete()
    for spec in channels:
        channel = ContactChannel(
            contact=contact, kind=spec.kind, value=spec.value.strip(), label=spec.label,
            preferred=spec.preferred,
        )  # fmt: skip
        channel.full_clean(exclude=["contact"])
        channel.save()


@transaction.atomic
def contact_create(
    *, by: User, party: Party, channels: list[ChannelSpec] = (),
    sectors: list[Province] = (), forward_bases: list[ForwardBase] = (),
    itinerary_sectors: list[Province] = (), **fields,
) -> Contact:  # fmt: skip
    """Record a contact (liaison officers, coordinators, administrators)."""
    _require_full(by)
    unknown = set(fields) - set(CONTACT_FIELDS)
    if unknown:
        raise TypeError(f"unknown contact fields: {sorted(unknown)}")
    if fields.get("organisation") and fields["organisation"].party_id != party.pk:
        raise ValidationError({"organisation": ["This organisation belongs to another party."]})
    contact = Contact(party=party, **fields)
    contact.full_clean()
    contact.save()
    contact.sectors.set(sectors)
    contact.forward_bases.set(forward_bases)
    contact.itinerary_sectors.set(itinerary_sectors)
    _set_channels(contact, list(channels))
    return contact


@transaction.atomic
def contact_update(
    *, by: User, contact: Contact, channels: list[ChannelSpec] | None = None,
    sectors: list[Province] | None = None, forward_bases: list[ForwardBase] | None = None,
    itinerary_sectors: list[Province] | None = None, **fields,
) -> Contact:  # fmt: skip
    """Change what is given; `channels`, when given, replaces every channel."""
    _require_full(by)
    if contact.anonymised_at is not None:
        raise ValidationError({"contact": ["An anonymised contact cannot be edited."]})
    unknown = set(fields) - set(CONTACT_FIELDS)
    if unknown:
        raise TypeError(f"unknown contact fields: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(contact, name, value)
    if contact.organisation_id and contact.organisation.party_id != contact.party_id:
        raise ValidationError({"organisation": ["This organisation belongs to another party."]})
    contact.full_clean()
    contact.save()
    for name, value in (("sectors", sectors), ("forward_bases", forward_bases),
                        ("itinerary_sectors", itinerary_sectors)):  # fmt: skip
        if value is not None:
            getattr(contact, name).set(value)
    if channels is not None:
        _set_channels(contact, list(channels))
    return contact


def contact_read_log(*, user: User, contacts: list[Contact], via: str) -> None:
    """Record that `user` read these contacts' details (one row each, one query)."""
    now = timezone.now()
    ContactAccessLog.objects.bulk_create(
        ContactAccessLog(contact=c, contact_ref=c.pk, user=user, via=via, at=now) for c in contacts
    )


def contacts_mark_contacted(*, channel_ids: list[int], at: datetime) -> int:
    """The contacts owning these channels were just contacted (retention clock). A bulk
    update on purpose: `last_contacted_at` is bookkeeping, kept out of the audit trail."""
    return _contacted(Contact.objects.filter(channels__pk__in=list(channel_ids)), at)


def _contacted(contacts, at: datetime) -> int:
    # Only forwards: an exchange logged late must not turn the retention clock back.
    return contacts.filter(Q(last_contacted_at__isnull=True) | Q(last_contacted_at__lt=at)).update(
        last_contacted_at=at
    )


# --- Communication log -------------------------------------------------------------------------


@transaction.atomic
def log_entry_create(
    *, by: User, occurred_at: datetime, kind: str, topic: str, summary: str,
    initiating_party: Party | None = None, sector: Province | None = None,
    participants: list[Contact] = (), mission_staff: list[User] = (), outcome: str = "",
    follow_ups: list[FollowUpSpec] = (),
) -> LogEntry:  # fmt: skip
    """Record one exchange and its follow-up actions; its contacts count as contacted."""
    _require_full(by)
    if occurred_at > timezone.now() + timedelta(minutes=5):
        raise ValidationError({"occurred_at": ["An exchange cannot be in the future."]})
    entry = LogEntry(
        occurred_at=occurred_at, kind=kind, topic=topic, summary=(summary or "").strip(),
        initiating_party=initiating_party, sector=sector, outcome=outcome, recorded_by=by,
    )  # fmt: skip
    entry.full_clean()
    entry.save()
    entry.participants.set(participants)
    entry.mission_staff.set(mission_staff)
    for index, spec in enumerate(follow_ups):
        follow_up = FollowUp(entry=entry, action=spec.action, owner=spec.owner, due_on=spec.due_on)
        try:
            follow_up.full_clean()
        except ValidationError as exc:
            raise ValidationError(
                {f"follow_ups.{index}.{k}": v for k, v in exc.message_dict.items()}
            ) from exc
        follow_up.save()
    _contacted(Contact.objects.filter(pk__in=[c.pk for c in participants]), occurred_at)
    return entry


@transaction.atomic
def follow_up_done(*, by: User, follow_up: FollowUp) -> FollowUp:
    _require_full(by)
    row = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
    if row.done_at is None:
        row.done_at = timezone.now()
        row.save(update_fields=["done_at"])
    return row


# --- Retention and subject access ---------------------------------------------------------------


def _anonymise(contact: Contact, now: datetime):
    contact.channels.all().delete()
    contact.name_latin = contact.name_original = contact.position = contact.notes = ""
    contact.languages = ""
    contact.receives_itineraries = contact.is_party_fallback = False
    contact.anonymised_at = now
    contact.save()


def contacts_anonymise_inactive(*, now: datetime | None = None) -> int:
    """Anonymise the contacts nobody contacted or edited for LIAISON_RETENTION_DAYS: names,
    position, notes and languages blanked, channels deleted, `anonymised_at` set. The
    party, organisation and sectors stay (the counts and the log keep their meaning).
    Idempotent: an anonymised contact is never picked again."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.LIAISON_RETENTION_DAYS)
    candidates = Contact.objects.filter(anonymised_at__isnull=True, updated_at__lt=cutoff).exclude(
        last_contacted_at__gte=cutoff
    )
    done = 0
    for pk in list(candidates.values_list("pk", flat=True)):
        with transaction.atomic():
            # Re-checked under the lock: an edit or a call since the scan keeps it.
            contact = Contact.objects.select_for_update().filter(pk=pk).first()
            if (
                contact is None
                or contact.anonymised_at is not None
                or contact.updated_at >= cutoff
                or (contact.last_contacted_at and contact.last_contacted_at >= cutoff)
            ):
                continue
            _anonymise(contact, now)
            done += 1
    return done


def contact_export(*, by: User, contact: Contact) -> dict:
    """Everything held about one contact (subject access request), for an administrator.
    The export itself is logged as a read."""
    if not selectors.can_manage_subject_data(by):
        raise PermissionDenied("Only an administrator exports a contact's data.")
    contact_read_log(user=by, contacts=[contact], via=ContactAccessLog.Via.EXPORT)
    entries = LogEntry.objects.filter(participants=contact).prefetch_related("follow_ups")
    return {
        "contact": {
            "id": contact.pk,
            "party": contact.party.name,
            "organisation": str(contact.organisation) if contact.organisation_id else None,
            **{
                name: getattr(contact, name)
                for name in (
                    "position",
                    "name_latin",
                    "name_original",
                    "script",
                    "languages",
                    "receives_itineraries",
                    "is_party_fallback",
                    "notes",
                )
            },  # fmt: skip
            "active_from": contact.active_from and contact.active_from.isoformat(),
            "active_to": contact.active_to and contact.active_to.isoformat(),
            "sectors": [s.name for s in contact.sectors.all()],
            "forward_bases": [b.name for b in contact.forward_bases.all()],
            "itinerary_sectors": [s.name for s in contact.itinerary_sectors.all()],
            "last_contacted_at": contact.last_contacted_at
            and contact.last_contacted_at.isoformat(),
            "created_at": contact.created_at.isoformat(),
            "anonymised_at": contact.anonymised_at and contact.anonymised_at.isoformat(),
        },
        "channels": [
            {"kind": c.kind, "value": c.value, "label": c.label, "preferred": c.preferred}
            for c in contact.channels.all()
        ],
        "log_entries": [
            {
                "occurred_at": e.occurred_at.isoformat(),
                "kind": e.kind,
                "topic": e.topic,
                "summary": e.summary,
                "outcome": e.outcome,
            }
            for e in entries
        ],  # fmt: skip
        "accesses": [
            {"user": a.user.username, "at": a.at.isoformat(), "via": a.via}
            for a in ContactAccessLog.objects.filter(contact_ref=contact.pk).select_related("user")
        ],
    }


@transaction.atomic
def contact_erase(*, by: User, contact: Contact) -> None:
    """Erase a contact at their request: the row and its channels go; log entries stay
    without them; the access log keeps the contact's id only."""
    if not selectors.can_manage_subject_data(by):
        raise PermissionDenied("Only an administrator erases a contact.")
    contact.delete()


def organisation_get_or_create(*, by: User, party: Party, name: str, unit: str = ""):
    _require_full(by)
    organisation, _ = Organisation.objects.get_or_create(party=party, name=name, unit=unit)
    return organisation

"""Who may see which liaison contacts and how much of them (need-to-know), and the reads the
patrol notifications and the summaries need.

Access levels (`contact_access`):
- FULL: liaison officers, coordinators and administrators see every contact, its names,
  position, notes and channels;
- HOTLINE: monitors and team leaders see only the contacts of their own sector (the province
  of their forward base) that have a hotline, and of those only party, organisation, sectors
  and the hotline numbers; another sector's contact does not exist for them (404);
- COUNTS: headquarters and duty officers see how many contacts each party has per sector,
  never a name or a number (need-to-know: neither plans a call to a named person; a duty
  officer who must reach a side at night uses the hotline through the liaison officer on
  duty, or is given the liaison officer role);
- NONE: everyone else.
"""

import enum
from datetime import date, datetime

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from core.models import Province
from core.roles import Role, has_role
from liaison.models import Contact, ContactAccessLog, ContactChannel, FollowUp, LogEntry, Party

FULL_ROLES = (Role.LIAISON_OFFICER, Role.COORDINATOR, Role.ADMINISTRATOR)
HOTLINE_ROLES = (Role.MONITOR, Role.TEAM_LEADER)
COUNT_ROLES = (Role.HEADQUARTERS, Role.DUTY_OFFICER)


class Access(enum.IntEnum):
    NONE = 0
    COUNTS = 1
    HOTLINE = 2
    FULL = 3


def contact_access(user) -> Access:
    if has_role(user, *FULL_ROLES):
        return Access.FULL
    if has_role(user, *HOTLINE_ROLES):
        return Access.HOTLINE
    if has_role(user, *COUNT_ROLES):
        return Access.COUNTS
    return Access.NONE


# The one statement of who may do what with liaison contacts: pages, the API, the admin and
# the services all ask these, never a role list or an access level of their own.
NEED_TO_KNOW = "Liaison contacts are need-to-know: your role cannot see them."


def can_see_contacts(user) -> bool:
    """Contacts themselves (lists, a contact's page): in full, or a sector's hotlines."""
    return contact_access(user) in (Access.FULL, Access.HOTLINE)


def can_keep_contacts(user) -> bool:
    """Contacts in full, the communication log and its follow-ups: liaison officers,
    coordinators and administrators."""
    return contact_access(user) == Access.FULL


def can_see_contact_counts(user) -> bool:
    """How many contacts each party has per sector: every mission role that sees liaison."""
    return contact_access(user) != Access.NONE


def can_see_sector_figures(user) -> bool:
    """The mission-wide figures per sector (the map of contacts, hotline activations): those
    who see contacts in full, and headquarters and duty officers; not the sector-bound
    monitors and team leaders."""
    return contact_access(user) in (Access.FULL, Access.COUNTS)


def can_manage_subject_data(user) -> bool:
    """A contact's subject-access export and erasure are an administrator's."""
    return has_role(user, Role.ADMINISTRATOR)


def _user_sector_id(user):
    base = getattr(user, "forward_base", None)
    return base.province_id if base is not None else None


def _hotlines():
    return Prefetch(
        "channels",
        queryset=ContactChannel.objects.filter(kind=ContactChannel.Kind.HOTLINE),
        to_attr="hotlines",
    )


def contact_list(*, user, search: str = "", party: str = "", sector: int | None = None):
    """The contacts this user may see, with what their access level shows prefetched.

    FULL: every contact not anonymised (channels are not prefetched: a list shows none).
    HOTLINE: the user's sector's contacts with a hotline, `hotlines` prefetched.
    Anything else: no contact.
    """
    access = contact_access(user)
    base = Contact.objects.filter(anonymised_at__isnull=True).select_related(
        "party", "organisation"
    )
    if access == Access.FULL:
        qs = base.prefetch_related("sectors", "forward_bases")
        if search:
            qs = qs.filter(
                Q(name_latin__icontains=search)
                | Q(name_original__icontains=search)
                | Q(position__icontains=search)
                | Q(organisation__name__icontains=search)
                | Q(organisation__unit__icontains=search)
            )
    elif access == Access.HOTLINE:
        sector_id = _user_sector_id(user)
        if sector_id is None:
            return Contact.objects.none()
        qs = (
            base.filter(sectors=sector_id, channels__kind=ContactChannel.Kind.HOTLINE)
            .distinct()
            .prefetch_related("sectors", _hotlines())
            # Not by name (the default): the order of names they cannot see would tell them.
            .order_by("party", "pk")
        )
        if search:
            qs = qs.filter(
                Q(organisation__name__icontains=search) | Q(organisation__unit__icontains=search)
            )
    else:
        return Contact.objects.none()
    if party:
        qs = qs.filter(party__code=party)
    if sector:
        qs = qs.filter(sectors=sector).distinct()
    return qs


def contact_get(*, user, pk: int) -> Contact | None:
    """One contact as this user may see it, or None (the caller answers 404 for a contact
    outside the user's sector as for one that does not exist)."""
    access = contact_access(user)
    qs = contact_list(user=user)
    if access == Access.FULL:
        qs = qs.prefetch_related("channels", "itinerary_sectors")
    return qs.filter(pk=pk).first()


def contact_counts(*, user) -> list[dict]:
    """How many current contacts each party has per sector: what headquarters may see."""
    if not can_see_contact_counts(user):
        return []
    rows = (
        Contact.objects.filter(anonymised_at__isnull=True)
        .values("party__name", "sectors__name")
        .annotate(contacts=Count("pk", distinct=True))
        .order_by("party__name", "sectors__name")
    )
    return [
        {"party": r["party__name"], "sector": r["sectors__name"], "contacts": r["contacts"]}
        for r in rows
    ]


def contact_counts_by_sector(*, user) -> list[tuple]:
    """(sector, number of current contacts) for every sector: the map of contacts' areas.
    Counts only, so headquarters and duty officers may see it too."""
    if not can_see_sector_figures(user):
        return []
    sectors = Province.objects.filter(is_sector=True).annotate(
        current=Count("contacts", filter=Q(contacts__anonymised_at__isnull=True), distinct=True)
    )
    return [(sector, sector.current) for sector in sectors.order_by("name")]


def contact_access_log(*, contact_ref: int) -> QuerySet[ContactAccessLog]:
    return ContactAccessLog.objects.filter(contact_ref=contact_ref).select_related("user")


# --- Log -------------------------------------------------------------------------------------


def log_entry_list(*, user, contact: Contact | None = None) -> QuerySet[LogEntry]:
    """The communication log names contacts: it is for those who see contacts in full."""
    if not can_keep_contacts(user):
        return LogEntry.objects.none()
    qs = LogEntry.objects.select_related(
        "initiating_party", "sector", "recorded_by"
    ).prefetch_related("participants", "mission_staff", "follow_ups__owner")
    if contact is not None:
        qs = qs.filter(participants=contact)
    return qs


def follow_ups_overdue(*, today: date | None = None, owner=None) -> QuerySet[FollowUp]:
    today = today or timezone.localdate()
    qs = FollowUp.objects.filter(done_at__isnull=True, due_on__lt=today)
    if owner is not None:
        qs = qs.filter(owner=owner)
    return qs.select_related("entry", "owner").order_by("due_on", "pk")


def follow_ups_open(*, user, mine_only: bool = False) -> QuerySet[FollowUp]:
    if not can_keep_contacts(user):
        return FollowUp.objects.none()
    qs = FollowUp.objects.filter(done_at__isnull=True).select_related("entry", "owner")
    if mine_only:
        qs = qs.filter(owner=user)
    return qs.order_by("due_on", "pk")


def hotline_activation_counts(*, start: datetime, end: datetime) -> list[dict]:
    """Hotline activations in [start, end), per sector and initiating side (the IPRM
    practice: how often each side used the hotline and about what)."""
    rows = (
        LogEntry.objects.filter(
            kind=LogEntry.Kind.HOTLINE, occurred_at__gte=start, occurred_at__lt=end
        )
        .values("sector__name", "initiating_party__name", "topic")
        .annotate(activations=Count("pk"))
        .order_by("sector__name", "initiating_party__name", "topic")
    )
    return [
        {
            "sector": r["sector__name"],
            "initiated_by": r["initiating_party__name"] or "Mission",
            "topic": r["topic"],
            "activations": r["activations"],
        }
        for r in rows
    ]


# --- Patrol itinerary notifications ------------------------------------------------------------


def _active_on(day: date) -> Q:
    return (
        Q(anonymised_at__isnull=True)
        & (Q(active_from__isnull=True) | Q(active_from__lte=day))
        & (Q(active_to__isnull=True) | Q(active_to__gte=day))
    )


def itinerary_recipient_channels(
    *, party: Party, sector_ids: list[int], day: date | None = None
) -> list[int]:
    """The e-mail channels (ids) a party's itinerary for these sectors goes to.

    Contacts of the party who receive itinerary notifications for one of these sectors (or
    for every sector: none configured), active today, with an e-mail channel (the preferred
    one, else the first). When a sector of the route has no such contact, or the route has
    no sector, the party's fallback contacts receive it too. Addresses are not decrypted here
    (`value` is deferred); they are read at send time by `email_addresses`.
    """
    day = day or timezone.localdate()
    emails = ContactChannel.objects.filter(kind=ContactChannel.Kind.EMAIL).defer("value")
    contacts = list(
        Contact.objects.filter(_active_on(day), party=party)
        .filter(Q(receives_itineraries=True) | Q(is_party_fallback=True))
        .prefetch_related("itinerary_sectors", Prefetch("channels", emails, to_attr="emails"))
        .order_by("pk")
    )

    def channel(contact):
        preferred = [c for c in contact.emails if c.preferred]
        return (preferred or contact.emails or [None])[0]

    chosen, covered = [], set()
    wanted = set(sector_ids)
    for contact in contacts:
        if not contact.receives_itineraries or channel(contact) is None:
            continue
        theirs = {s.pk for s in contact.itinerary_sectors.all()}
        if not theirs or theirs & wanted:
            chosen.append(channel(contact).pk)
            covered |= wanted if not theirs else theirs & wanted
    if covered != wanted or not chosen:
        chosen += [channel(c).pk for c in contacts if c.is_party_fallback and channel(c)]
    return sorted(set(chosen))


def email_addresses(channel_ids: list[int]) -> list[str]:
    """The decrypted addresses of these e-mail channels, for sending now (never logged)."""
    values = ContactChannel.objects.filter(
        pk__in=channel_ids, kind=ContactChannel.Kind.EMAIL, contact__anonymised_at__isnull=True
    ).values_list("value", flat=True)
    return sorted(set(values))


def email_channels_still_held(channel_ids: list[int]) -> list[int]:
    """Those of these e-mail channels that still exist (not erased nor anonymised)."""
    return sorted(
        ContactChannel.objects.filter(
            pk__in=channel_ids, kind=ContactChannel.Kind.EMAIL,
            contact__anonymised_at__isnull=True,
        ).values_list("pk", flat=True)
    )  # fmt: skip

"""Who may do what with patrol plans, and the read queries behind every patrol list.

The predicates (`can_*`, `patrol_plan_is_*`) are the one statement of each rule: the
services refuse with them, the pages and the API ask them before reading a body, and the
templates' flags and the header's links are computed from them. The queries return plans
with what each list needs already joined.
"""

from datetime import datetime, timedelta

from django.db.models import Prefetch, Q, QuerySet

from core.models import ForwardBase, Province
from core.roles import Role, has_role
from patrols.models import ItineraryNotification, PatrolPlan

SEE_ALL_ROLES = (
    Role.COORDINATOR, Role.DUTY_OFFICER, Role.LIAISON_OFFICER, Role.HEADQUARTERS,
    Role.ADMINISTRATOR,
)  # fmt: skip
BASE_ROLES = (Role.TEAM_LEADER, Role.MONITOR)
MISSION_ROLES = (*SEE_ALL_ROLES, *BASE_ROLES)
PLANNER_ROLES = (Role.TEAM_LEADER, Role.COORDINATOR)
RECORDER_ROLES = (Role.LIAISON_OFFICER, Role.COORDINATOR)
Status = PatrolPlan.Status
ACTIVE = (Status.APPROVED, Status.NOTIFIED, Status.UNDER_WAY)
# Not finished yet: on the plan list whatever their departure.
OPEN = (Status.DRAFT, Status.RETURNED, Status.SUBMITTED, *ACTIVE)


def can_see_plans(user) -> bool:
    """Patrol plans, their pages and the calendar are for the mission's staff."""
    return has_role(user, *MISSION_ROLES)


def can_approve(user) -> bool:
    """Coordinators review, approve and return itineraries (the approval queue is theirs)."""
    return has_role(user, Role.COORDINATOR)


def can_see_every_base(user) -> bool:
    """Mission-wide roles see every forward base's filed plans (and follow notifications)."""
    return has_role(user, *SEE_ALL_ROLES)


def can_plan(user) -> bool:
    """Team leaders and coordinators write and change plans (which ones: patrol_plan_is_planner)."""
    return has_role(user, *PLANNER_ROLES)


def can_plan_for_base(user, base: ForwardBase) -> bool:
    """A team leader plans for their own forward base; a coordinator for any."""
    return base.pk == user.forward_base_id or has_role(user, Role.COORDINATOR)


def can_follow_notifications(user) -> bool:
    """The mission-wide roles follow the itinerary notifications of every plan."""
    return has_role(user, *SEE_ALL_ROLES)


def can_record_notifications(user) -> bool:
    """Liaison officers and coordinators record a party's acknowledgement or objection."""
    return has_role(user, *RECORDER_ROLES)


def can_retry_notifications(user) -> bool:
    """A coordinator sends a failed notification again."""
    return has_role(user, Role.COORDINATOR)


def patrol_plan_can_create(user) -> bool:
    """Team leaders plan their own forward base's patrols (pages and API alike)."""
    return has_role(user, Role.TEAM_LEADER) and user.forward_base_id is not None


def patrol_plan_is_planner(user, plan: PatrolPlan) -> bool:
    """The plan's author or team leader, or a coordinator: who edits, amends, submits and
    cancels it. Not administrators: they run the system, not patrols (a field role is given
    to one who must plan)."""
    return user.pk in (plan.author_id, plan.team_leader_id) or has_role(user, Role.COORDINATOR)


def patrol_plan_is_team_leader(user, plan: PatrolPlan) -> bool:
    """The patrol's own team leader starts, completes and aborts it, and uploads its track."""
    return user.pk == plan.team_leader_id


def patrol_plan_is_own(user, plan: PatrolPlan) -> bool:
    """Four eyes: a coordinator who wrote or leads a plan may not approve or return it."""
    return user.pk in (plan.author_id, plan.team_leader_id)


def patrol_plan_list(*, user) -> QuerySet[PatrolPlan]:
    """Plans the user may see: every plan for mission-wide roles; their base's plans (and
    their own drafts) for team leaders and monitors; nothing for anyone else."""
    plans = PatrolPlan.objects.select_related(
        "forward_base", "team_leader", "author"
    ).prefetch_related(
        # A sector is shown by its name: its boundary (the province's multipolygon, the
        # largest column read) is left in the database.
        Prefetch("sectors", queryset=Province.objects.defer("geom")),
        "vehicles",
        "waypoints",
        Prefetch(
            "versions__notifications",
            queryset=ItineraryNotification.objects.select_related("party"),
        ),
    )
    if can_see_every_base(user):
        return plans.exclude(Q(status=PatrolPlan.Status.DRAFT) & ~Q(author=user))
    if has_role(user, *BASE_ROLES):
        mine = Q(author=user) | Q(team_leader=user) | Q(monitors=user)
        base = Q(forward_base_id=user.forward_base_id) & ~Q(status=PatrolPlan.Status.DRAFT)
        return plans.filter(mine | base).distinct()
    return plans.none()


def patrol_plans_current(*, user, since: datetime) -> QuerySet[PatrolPlan]:
    """The plan list: every open plan the user may see, and finished ones leaving since
    `since`, in departure order."""
    return (
        patrol_plan_list(user=user)
        .filter(Q(status__in=OPEN) | Q(planned_departure__gte=since))
        .order_by("planned_departure")
    )


def patrol_plans_awaiting_approval(*, user) -> QuerySet[PatrolPlan]:
    """The approval queue: submitted plans, the next to leave first."""
    return patrol_plan_list(user=user).filter(status=Status.SUBMITTED).order_by("planned_departure")


def patrol_plans_escalated(*, user) -> QuerySet[PatrolPlan]:
    """Approved or notified plans with a notification escalated and still unacknowledged, of
    any version: the page keeps those whose current version's badge says so."""
    return (
        patrol_plan_list(user=user)
        .filter(
            status__in=[Status.APPROVED, Status.NOTIFIED],
            versions__notifications__escalated_at__isnull=False,
            versions__notifications__acknowledged_at__isnull=True,
        )
        .distinct()
        .order_by("planned_departure")
    )


def patrol_plans_in_window(
    *, user, start: datetime, end: datetime, base: ForwardBase | None = None
) -> QuerySet[PatrolPlan]:
    """The calendar's plans: those under way at some time in [start, end), of one forward
    base or of every base the user may see, in departure order."""
    plans = patrol_plan_list(user=user).filter(planned_departure__lt=end, planned_return__gt=start)
    if base is not None:
        plans = plans.filter(forward_base=base)
    return plans.order_by("planned_departure")


def calendar_bases(*, user, base: ForwardBase | None, plans) -> list[ForwardBase]:
    """The calendar's rows: the base asked for; every base for mission-wide roles; else the
    user's own base and the bases of the plans shown."""
    if base is not None:
        return [base]
    if can_see_every_base(user):
        return list(ForwardBase.objects.order_by("name"))
    mine = {user.forward_base_id} | {p.forward_base_id for p in plans}
    return list(ForwardBase.objects.filter(pk__in=mine).order_by("name"))


def patrol_plans_overlapping(*, plan: PatrolPlan) -> QuerySet[PatrolPlan]:
    """Other active plans whose time window overlaps this plan's (space is checked after)."""
    return (
        PatrolPlan.objects.filter(
            status__in=ACTIVE,
            planned_departure__lt=plan.planned_return,
            planned_return__gt=plan.planned_departure,
            route__isnull=False,
        )
        .exclude(pk=plan.pk)
        .select_related("forward_base")
    )


def itinerary_notification_list() -> QuerySet[ItineraryNotification]:
    """Every itinerary notification, with its party and version joined (for the roles that
    follow them: can_follow_notifications)."""
    return ItineraryNotification.objects.select_related("party", "version")


def notifications_of_version(version) -> QuerySet[ItineraryNotification]:
    return version.notifications.select_related("party")


def notifications_stale(*, lease: timedelta, longest_wait: timedelta):
    """The ids of the notifications whose sending was lost: claimed by a worker that died
    (the claim older than `lease`), or still queued with no attempt due any more (the message
    was lost before any worker took it, or its retry was: `longest_wait` after the last
    attempt)."""
    from django.utils import timezone

    Status = ItineraryNotification.Status
    now = timezone.now()
    return ItineraryNotification.objects.filter(
        Q(status=Status.SENDING, claimed_at__lt=now - lease)
        | Q(status=Status.QUEUED, attempts=0, queued_at__lt=now - lease)
        | Q(status=Status.QUEUED, attempts__gt=0, claimed_at__lt=now - longest_wait)
    ).values_list("pk", flat=True)


def itinerary_notifications_unsent_count() -> int:
    """The outbox's backlog (/metrics): notifications queued or being sent. One COUNT on
    notification_pending_idx (status first)."""
    waiting = [ItineraryNotification.Status.QUEUED, ItineraryNotification.Status.SENDING]
    return ItineraryNotification.objects.filter(status__in=waiting).count()

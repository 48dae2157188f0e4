"""Read queries for patrols, with what each list needs already joined."""

from django.db.models import Prefetch, Q, QuerySet

from core.roles import Role, has_role
from patrols.models import ItineraryNotification, PatrolPlan

SEE_ALL_ROLES = (
    Role.COORDINATOR, Role.DUTY_OFFICER, Role.LIAISON_OFFICER, Role.HEADQUARTERS,
    Role.ADMINISTRATOR,
)  # fmt: skip
BASE_ROLES = (Role.TEAM_LEADER, Role.MONITOR)
MISSION_ROLES = (*SEE_ALL_ROLES, *BASE_ROLES)
ACTIVE = (
    PatrolPlan.Status.APPROVED,
    PatrolPlan.Status.NOTIFIED,
    PatrolPlan.Status.UNDER_WAY,
)


def can_see_plans(user) -> bool:
    """Patrol plans, their pages and the calendar are for the mission's staff."""
    return has_role(user, *MISSION_ROLES)


def can_approve(user) -> bool:
    """Coordinators review, approve and return itineraries (the approval queue is theirs)."""
    return has_role(user, Role.COORDINATOR)


def patrol_plan_can_create(user) -> bool:
    """Team leaders plan their own forward base's patrols (pages and API alike)."""
    return has_role(user, Role.TEAM_LEADER) and user.forward_base_id is not None


def patrol_plan_list(*, user) -> QuerySet[PatrolPlan]:
    """Plans the user may see: every plan for mission-wide roles; their base's plans (and
    their own drafts) for team leaders and monitors; nothing for anyone else."""
    plans = PatrolPlan.objects.select_related(
        "forward_base", "team_leader", "author"
    ).prefetch_related(
        "sectors",
        "vehicles",
        "waypoints",
        Prefetch(
            "versions__notifications",
            queryset=ItineraryNotification.objects.select_related("party"),
        ),
    )
    if has_role(user, *SEE_ALL_ROLES):
        return plans.exclude(Q(status=PatrolPlan.Status.DRAFT) & ~Q(author=user))
    if has_role(user, *BASE_ROLES):
        mine = Q(author=user) | Q(team_leader=user) | Q(monitors=user)
        base = Q(forward_base_id=user.forward_base_id) & ~Q(status=PatrolPlan.Status.DRAFT)
        return plans.filter(mine | base).distinct()
    return plans.none()


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


def notifications_of_version(version) -> QuerySet[ItineraryNotification]:
    return version.notifications.select_related("party")

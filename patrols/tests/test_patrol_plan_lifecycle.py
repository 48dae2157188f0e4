"""A plan's life: every transition, every refusal, four eyes, derived places."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from patrols.models import ItineraryNotification, PatrolPlan
from patrols.services import (
    patrol_abort,
    patrol_complete,
    patrol_plan_amend,
    patrol_plan_approve,
    patrol_plan_cancel,
    patrol_plan_return,
    patrol_plan_submit,
    patrol_plan_update,
    patrol_start,
)
from patrols.services.notifications import notification_send

pytestmark = pytest.mark.django_db
S = PatrolPlan.Status


def approve(plan, team):
    return patrol_plan_approve(plan=plan, by=team["coordinator"])


def send_all(plan):
    for n in ItineraryNotification.objects.filter(version__plan=plan, status="queued"):
        assert notification_send(notification_id=n.pk, claim="test") == "sent"
    plan.refresh_from_db()


def test_sectors_and_nearby_settlements_are_derived_from_the_route(make_plan):
    plan = make_plan()
    assert list(plan.sectors.values_list("name", flat=True)) == ["Vayots Dzor"]
    assert "Jermuk" in plan.nearby_settlements.values_list("name", flat=True)
    assert [w.name for w in plan.waypoints.all()] == ["Jermuk base", "Turning point"]


def test_the_route_is_built_from_waypoints_when_none_is_drawn(make_plan):
    plan = make_plan()
    rebuilt = patrol_plan_update(plan=plan, by=plan.team_leader, route=None,
                                 waypoints=None, purpose="Same")  # fmt: skip
    assert rebuilt.route.coords == plan.route.coords
    from patrols.services import WaypointSpec, patrol_plan_create

    only_points = patrol_plan_create(
        forward_base=plan.forward_base, team_leader=plan.team_leader, purpose="From waypoints",
        planned_departure=plan.planned_departure, planned_return=plan.planned_return,
        waypoints=[WaypointSpec("A", plan.waypoints.first().location),
                   WaypointSpec("B", plan.waypoints.last().location)],
    )  # fmt: skip
    assert only_points.route.num_points == 2


def test_the_full_path_draft_to_completed(make_plan, team, recipients):
    plan = make_plan()
    patrol_plan_submit(plan=plan, by=team["leader"])
    version = approve(plan, team)
    plan.refresh_from_db()
    assert (plan.status, plan.version, version.number) == (S.APPROVED, 1, 1)
    send_all(plan)
    assert plan.status == S.NOTIFIED
    patrol_start(plan=plan, by=team["leader"])
    patrol_complete(plan=plan, by=team["leader"])
    plan.refresh_from_db()
    assert plan.status == S.COMPLETED and plan.started_at and plan.ended_at


def test_a_returned_plan_is_edited_and_submitted_again(make_plan, team, recipients):
    plan = make_plan()
    patrol_plan_submit(plan=plan, by=team["leader"])
    with pytest.raises(ValidationError, match="Say why"):
        patrol_plan_return(plan=plan, by=team["coordinator"], reason=" ")
    patrol_plan_return(plan=plan, by=team["coordinator"], reason="Add the second vehicle.")
    plan.refresh_from_db()
    assert (plan.status, plan.status_reason) == (S.RETURNED, "Add the second vehicle.")
    patrol_plan_update(plan=plan, by=team["leader"], purpose="With two vehicles")
    patrol_plan_submit(plan=plan, by=team["leader"])
    plan.refresh_from_db()
    assert plan.status == S.SUBMITTED


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (lambda p, t: approve(p, t), "A draft plan cannot become approved"),
        (lambda p, t: patrol_start(plan=p, by=t["leader"]), "A draft plan cannot become under way"),
        (lambda p, t: patrol_complete(plan=p, by=t["leader"]), "cannot become completed"),
        (lambda p, t: patrol_abort(plan=p, by=t["leader"], reason="x"), "cannot become aborted"),
        (lambda p, t: patrol_plan_amend(plan=p, by=t["leader"], purpose="x"), "edit this plan"),
    ],
)
def test_illegal_transitions_from_draft_are_refused_with_a_clear_error(
    make_plan, team, action, message
):
    plan = make_plan()
    with pytest.raises(ValidationError, match=message):
        action(plan, team)
    plan.refresh_from_db()
    assert plan.status == S.DRAFT


def test_a_completed_patrol_cannot_be_cancelled_or_restarted(make_plan, team, recipients):
    plan = make_plan()
    patrol_plan_submit(plan=plan, by=team["leader"])
    approve(plan, team)
    send_all(plan)
    patrol_start(plan=plan, by=team["leader"])
    patrol_complete(plan=plan, by=team["leader"])
    with pytest.raises(ValidationError, match="A completed plan cannot become cancelled"):
        patrol_plan_cancel(plan=plan, by=team["leader"], reason="too late")
    with pytest.raises(ValidationError, match="cannot become under way"):
        patrol_start(plan=plan, by=team["leader"])


def test_a_patrol_cannot_leave_before_every_party_has_been_sent_the_itinerary(
    make_plan, team, recipients
):
    plan = make_plan()
    patrol_plan_submit(plan=plan, by=team["leader"])
    approve(plan, team)
    first = ItineraryNotification.objects.filter(version__plan=plan).first()
    notification_send(notification_id=first.pk, claim="test")
    plan.refresh_from_db()
    assert plan.status == S.APPROVED
    with pytest.raises(ValidationError, match="Not every party"):
        patrol_start(plan=plan, by=team["leader"])


def test_the_approver_must_be_a_coordinator(make_plan, team, users, recipients):
    plan = make_plan()
    patrol_plan_submit(plan=plan, by=team["leader"])
    for role in ("team_leader", "duty_officer", "monitor", "outsider"):
        with pytest.raises(PermissionDenied, match="Only a coordinator"):
            patrol_plan_approve(plan=plan, by=users[role])


def test_four_eyes_a_coordinator_cannot_approve_a_plan_they_wrote(team, make_plan, recipients):
    plan = make_plan(author=team["coordinator"])
    patrol_plan_submit(plan=plan, by=team["coordinator"])
    with pytest.raises(PermissionDenied, match="Four eyes"):
        patrol_plan_approve(plan=plan, by=team["coordinator"])
    patrol_plan_approve(plan=plan, by=team["coordinator_2"])


def test_four_eyes_a_team_leader_who_is_also_a_coordinator_cannot_approve_their_patrol(
    team, make_plan, recipients
):
    from django.contrib.auth.models import Group

    leader = team["leader"]
    leader.groups.add(Group.objects.get(name="coordinator"))
    leader = type(leader).objects.get(pk=leader.pk)  # roles are cached per user object
    plan = make_plan(author=team["coordinator"])  # written by another, led by this leader
    patrol_plan_submit(plan=plan, by=team["coordinator"])
    with pytest.raises(PermissionDenied, match="Four eyes"):
        patrol_plan_approve(plan=plan, by=leader)
    patrol_plan_approve(plan=plan, by=team["coordinator_2"])


def test_only_the_team_leader_starts_ends_or_aborts_the_patrol(make_plan, team, recipients):
    plan = make_plan()
    patrol_plan_submit(plan=plan, by=team["leader"])
    approve(plan, team)
    send_all(plan)
    with pytest.raises(PermissionDenied, match="team leader"):
        patrol_start(plan=plan, by=team["monitor"])
    patrol_start(plan=plan, by=team["leader"])
    with pytest.raises(ValidationError, match="Say why"):
        patrol_abort(plan=plan, by=team["leader"], reason="")
    patrol_abort(plan=plan, by=team["leader"], reason="Stopped at a checkpoint")
    plan.refresh_from_db()
    assert (plan.status, plan.status_reason) == (S.ABORTED, "Stopped at a checkpoint")


def test_an_approved_itinerary_is_amended_not_edited(make_plan, team, recipients):
    plan = make_plan()
    patrol_plan_submit(plan=plan, by=team["leader"])
    approve(plan, team)
    with pytest.raises(ValidationError, match="amend it"):
        patrol_plan_update(plan=plan, by=team["leader"], purpose="changed")
    later = plan.planned_departure + timedelta(hours=1)
    patrol_plan_amend(plan=plan, by=team["leader"], planned_departure=later)
    plan.refresh_from_db()
    assert (plan.status, plan.version) == (S.SUBMITTED, 1)


def test_someone_else_cannot_edit_a_plan(make_plan, team, users):
    plan = make_plan()
    with pytest.raises(PermissionDenied, match="author or team leader"):
        patrol_plan_update(plan=plan, by=team["monitor"], purpose="mine now")


def test_naive_times_are_refused_naming_the_field(make_plan, team):
    plan = make_plan()
    with pytest.raises(ValidationError) as info:
        patrol_plan_update(plan=plan, by=team["leader"],
                           planned_departure=timezone.now().replace(tzinfo=None))  # fmt: skip
    assert "planned_departure" in info.value.message_dict


def test_a_return_before_departure_is_refused_naming_the_problem(make_plan, team):
    plan = make_plan()
    with pytest.raises(ValidationError, match="return must be after the departure"):
        patrol_plan_update(plan=plan, by=team["leader"],
                           planned_return=plan.planned_departure - timedelta(hours=1))  # fmt: skip


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("target", list(S))
def test_every_status_pair_is_allowed_exactly_as_the_lifecycle_says(current, target):
    allowed = {
        (S.DRAFT, S.SUBMITTED), (S.DRAFT, S.CANCELLED),
        (S.SUBMITTED, S.APPROVED), (S.SUBMITTED, S.RETURNED), (S.SUBMITTED, S.CANCELLED),
        (S.RETURNED, S.SUBMITTED), (S.RETURNED, S.CANCELLED),
        (S.APPROVED, S.NOTIFIED), (S.APPROVED, S.SUBMITTED), (S.APPROVED, S.CANCELLED),
        (S.NOTIFIED, S.UNDER_WAY), (S.NOTIFIED, S.SUBMITTED), (S.NOTIFIED, S.CANCELLED),
        (S.UNDER_WAY, S.COMPLETED), (S.UNDER_WAY, S.ABORTED),
    }  # fmt: skip
    plan = PatrolPlan(status=current)
    if (current, target) in allowed:
        plan.move_to(target)
        assert plan.status == target
    else:
        with pytest.raises(ValidationError) as info:
            plan.move_to(target)
        assert info.value.message_dict["status"] == [
            f"A {current.label.lower()} plan cannot become {target.label.lower()}."
        ]
        assert plan.status == current


def test_cancelling_a_submitted_or_returned_plan_before_approval_tells_nobody(
    make_plan, team, recipients
):
    submitted = make_plan()
    patrol_plan_submit(plan=submitted, by=team["leader"])
    patrol_plan_cancel(plan=submitted, by=team["leader"], reason="Vehicle broke down")
    returned = make_plan(days_ahead=12)
    patrol_plan_submit(plan=returned, by=team["leader"])
    patrol_plan_return(plan=returned, by=team["coordinator"], reason="Wrong day")
    patrol_plan_cancel(plan=returned, by=team["leader"], reason="Not needed")
    for plan in (submitted, returned):
        plan.refresh_from_db()
        assert plan.status == S.CANCELLED
    assert not ItineraryNotification.objects.exists()

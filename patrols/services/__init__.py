"""Patrol use-cases; see plans.py (the plan's life), notifications.py (telling the parties),
safety.py (itinerary checks) and execution.py (track and movement restrictions)."""

from patrols.services.plans import (  # noqa: F401
    VehicleSpec,
    WaypointSpec,
    itinerary_content,
    patrol_abort,
    patrol_complete,
    patrol_plan_amend,
    patrol_plan_approve,
    patrol_plan_cancel,
    patrol_plan_create,
    patrol_plan_return,
    patrol_plan_submit,
    patrol_plan_update,
    patrol_start,
    require_coordinator,
    require_planner,
    require_team_leader,
)

"""Patrol use-cases; see plans.py (the planner's side of a plan), approval.py (the
coordinator's decision), notifications.py (telling the parties), safety.py (itinerary checks),
execution.py (the patrol on its way: start, end, track, movement restrictions) and history.py
(itineraries recorded after the fact).

The names below are re-exported so `from patrols.services import patrol_plan_create` keeps
working for callers outside the package.
"""

from patrols.services.approval import (  # noqa: F401
    itinerary_content,
    patrol_plan_approve,
    patrol_plan_return,
    require_coordinator,
)
from patrols.services.execution import (  # noqa: F401
    patrol_abort,
    patrol_complete,
    patrol_start,
    require_team_leader,
)
from patrols.services.plans import (  # noqa: F401
    VehicleSpec,
    WaypointSpec,
    patrol_plan_amend,
    patrol_plan_cancel,
    patrol_plan_create,
    patrol_plan_submit,
    patrol_plan_update,
    require_planner,
)

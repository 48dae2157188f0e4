"""A liaison log entry and the patrols it concerns: the link is kept on the patrol's side
(patrols may name liaison, never the reverse), and read from both (a cross-app flow)."""

import pytest

from liaison.models import LogEntry
from liaison.tests.conftest import world as world  # noqa: F401  (a fixture)
from liaison.tests.test_communication_log import DAY, hotline
from patrols.models import PatrolPlan
from patrols.tests.conftest import make_plan as make_plan  # noqa: F401  (a fixture)
from patrols.tests.conftest import team as team  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db


def test_an_entry_links_to_patrols_and_incidents_from_their_side(users, world, make_plan):
    entry = hotline(users["liaison_officer"], world["azerbaijan"], world["tavush"],
                    LogEntry.Topic.ITINERARY, DAY)  # fmt: skip
    plan = make_plan()
    plan.liaison_log.add(entry)
    assert list(entry.patrols.all()) == [plan]
    assert PatrolPlan.objects.filter(liaison_log=entry).exists()

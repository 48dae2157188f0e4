import io
import re
from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point
from django.core.management import call_command

from core.audit.models import AuditEntry
from core.models import Province
from core.selectors import distance_to_border_km, in_mission_area, sector_at
from patrols.models import PatrolPlan
from reports.models import DailySummary, IncidentReport, SummaryRevision
from tests.demo import NOW, YEREVAN, run_demo_data

pytestmark = [pytest.mark.django_db, pytest.mark.long]

PHRASE = re.compile(r"^(about \d+ km [NESW]{1,2} of|in) \w")
ACROSS = re.compile(r"^across the line, (about \d+ km [NESW]{1,2} of|in) [\w ]+ \([\w ]+\)$")


def counts():
    return (
        PatrolPlan.objects.count(),
        IncidentReport.objects.count(),
        AuditEntry.objects.count(),
        SummaryRevision.objects.count(),
    )


def test_it_covers_the_five_sectors_from_every_forward_base(demo_data):
    sectors = set(Province.objects.filter(is_sector=True).values_list("name", flat=True))

    assert set(IncidentReport.objects.values_list("sector__name", flat=True)) == sectors
    assert PatrolPlan.objects.values("forward_base").distinct().count() == 6
    assert 60 <= IncidentReport.objects.count() <= 120


def test_every_incident_lies_where_the_observers_rule_allows_with_a_derived_phrase(demo_data):
    """In the mission area, or across the line seen from a post in it (within the limit)."""
    across = 0
    for incident in IncidentReport.objects.select_related("sector"):
        assert incident.observed_at < NOW
        if incident.across_line:
            across += 1
            assert not in_mission_area(incident.location), incident.location.wkt
            assert sector_at(incident.observer_position) == incident.sector
            assert distance_to_border_km(incident.location) <= 25
            assert ACROSS.match(incident.location_phrase), incident.location_phrase
            continue
        assert in_mission_area(incident.location), incident.location.wkt
        assert sector_at(incident.location) == incident.sector
        assert PHRASE.match(incident.location_phrase), incident.location_phrase
        assert incident.location_phrase.endswith(f", {incident.sector.name}")
        if incident.observer_position is not None:
            assert in_mission_area(incident.observer_position)
    # The posts by the line see fire across it, as the mission's do.
    assert across >= 1


def test_most_incidents_were_seen_by_a_patrol_that_went_out_that_day(demo_data):
    incidents = IncidentReport.objects.select_related("patrol")
    linked = [i for i in incidents if i.patrol is not None]

    assert len(linked) > 0.7 * incidents.count()
    for incident in linked:
        patrol = incident.patrol
        assert patrol.status in (PatrolPlan.Status.COMPLETED, PatrolPlan.Status.ABORTED)
        assert patrol.planned_departure < incident.observed_at < patrol.planned_return


def test_patrols_stay_in_the_mission_area_and_record_the_sectors_they_cross(demo_data):
    ararat = Province.objects.get(name="Ararat")
    for plan in PatrolPlan.objects.select_related("forward_base__province"):
        assert all(in_mission_area(Point(*xy, srid=4326)) for xy in plan.route.coords)
        assert plan.forward_base.province in plan.sectors.all()
    yeraskh = PatrolPlan.objects.filter(purpose__contains="Yeraskh")
    assert yeraskh.exists()
    assert all(ararat in plan.sectors.all() for plan in yeraskh)


def test_past_patrols_are_done_and_coming_ones_only_planned(demo_data):
    today = NOW.date()
    past = PatrolPlan.objects.filter(planned_return__lt=NOW)
    coming = PatrolPlan.objects.filter(planned_departure__gt=NOW)
    done = {PatrolPlan.Status.COMPLETED, PatrolPlan.Status.CANCELLED, PatrolPlan.Status.ABORTED}

    assert set(past.values_list("status", flat=True)) <= done
    assert past.filter(status=PatrolPlan.Status.COMPLETED).count() > 0.8 * past.count()
    assert not set(coming.values_list("status", flat=True)) & done
    assert PatrolPlan.objects.filter(status=PatrolPlan.Status.UNDER_WAY).count() == 6
    last = max(p.planned_departure for p in PatrolPlan.objects.all()).astimezone(YEREVAN)
    first = min(p.planned_departure for p in PatrolPlan.objects.all()).astimezone(YEREVAN)
    assert (first.date(), last.date()) == (today - timedelta(days=21), today + timedelta(days=3))


def test_a_second_run_adds_nothing(demo_data):
    before = counts()

    out, _ = run_demo_data()

    assert counts() == before
    assert "(0 new)" in out
    assert "Daily summaries of the last 3 days: 0 built." in out


def test_headquarters_find_the_last_three_daily_summaries(demo_data):
    assert DailySummary.objects.count() == 3
    latest = DailySummary.objects.order_by("-period_end").first()
    in_period = IncidentReport.objects.filter(
        observed_at__gte=latest.period_start, observed_at__lt=latest.period_end,
        status__in=["submitted", "reviewed", "returned"],
    ).count()  # fmt: skip
    assert latest.revisions.get().content["incidents"]["reports"] == in_period
    # Each states the audit chain's head when it was built (sealed first: never the genesis).
    for revision in SummaryRevision.objects.all():
        assert revision.audit_anchor["seq"] > 0
        assert (
            AuditEntry.objects.get(seq=revision.audit_anchor["seq"]).mac
            == (revision.audit_anchor["mac"])
        )


def test_load_incidents_adds_exactly_the_number_asked_with_a_progress_bar(demo_data):
    before = IncidentReport.objects.count()

    _, err = run_demo_data("--incidents", "50")

    assert IncidentReport.objects.count() == before + 50
    assert "50/50" in err
    assert IncidentReport.objects.filter(patrol=None).count() >= 50

    run_demo_data("--incidents", "50")
    assert IncidentReport.objects.count() == before + 50


def test_load_incidents_lie_in_the_mission_area_with_a_derived_phrase(demo_data):
    existing = set(IncidentReport.objects.values_list("pk", flat=True))

    run_demo_data("--incidents", "50")

    for incident in IncidentReport.objects.exclude(pk__in=existing):
        assert in_mission_area(incident.location), incident.location.wkt
        assert PHRASE.match(incident.location_phrase), incident.location_phrase


def test_the_audit_chain_verifies_and_names_the_command_after_demo_data(demo_data):
    run_demo_data("--incidents", "50")

    out = io.StringIO()
    call_command("audit_verify", stdout=out)  # raises CommandError when the chain is broken
    assert "intact" in out.getvalue()
    refs = set(
        AuditEntry.objects.filter(model="reports.incidentreport").values_list(
            "client", "client_ref"
        )
    )
    assert refs == {(AuditEntry.Client.COMMAND, "demo_data")}


def test_it_gives_the_liaison_officer_contacts_hotlines_and_an_overdue_follow_up(demo_data):
    from liaison.models import Contact, ContactChannel, FollowUp
    from liaison.selectors import follow_ups_overdue

    assert Contact.objects.filter(party__code="azerbaijan", sectors__name="Syunik").exists()
    assert ContactChannel.objects.filter(kind="hotline").count() >= 5
    assert follow_ups_overdue().exists()
    before = (Contact.objects.count(), FollowUp.objects.count())
    run_demo_data()
    assert (Contact.objects.count(), FollowUp.objects.count()) == before

"""The daily situation summary: one per period, its figures from known reports, catch-up
after an outage, revisions for late reports, the two distribution levels, the formats."""

import csv
import io
import json
from datetime import datetime, timedelta

import pytest
import time_machine
from django.contrib.gis.geos import Point
from django.core import mail
from django.utils import timezone

from core.audit.context import acting_as
from core.audit.models import AuditEntry
from patrols.tests.conftest import recipients as recipients  # noqa: F401  (a fixture)
from reports.models import DailySummary, IncidentReport, SummaryRecipient, SummaryRevision
from reports.services import events, review
from reports.summaries import documents
from reports.summaries import services as summaries
from reports.summaries.content import build_content
from reports.tests.factories import IncidentReportFactory
from reports.tests.test_incident_map import GORIS, JERMUK, KORNIDZOR

YEREVAN = timezone.get_default_timezone()
AM, AZ = "Republic of Armenia", "Republic of Azerbaijan"
# The period of Daily Report 320/2026: 19:30 on 15 Nov to 19:30 on 16 Nov (Yerevan).
END = datetime(2026, 11, 16, 19, 30, tzinfo=YEREVAN)
START = END - timedelta(days=1)


def file(author, where, at, **fields):
    defaults = {"category": IncidentReport.Category.SHELLING, "severity": 2,
                "description": "Explosions heard.", "status": "submitted"}  # fmt: skip
    with time_machine.travel(at + timedelta(minutes=20), tick=False):
        return IncidentReportFactory(
            author=author, observed_at=at, location=Point(*where, srid=4326),
            **{**defaults, **fields},
        )  # fmt: skip


@pytest.fixture
def period(users):
    """Known reports around Daily Report 320/2026."""
    monitor, duty = users["monitor"], users["duty_officer"]
    at = START + timedelta(hours=6)
    made = {
        "shelling": file(
            monitor,
            KORNIDZOR,
            at,
            severity=4,
            explosions=12,
            civilians_injured=2,
            casualty_source="corroborated",
            damage="Roof of a house in Kornidzor hit.",
        ),  # fmt: skip
        "same_event": file(monitor, KORNIDZOR, at + timedelta(minutes=5), severity=4),
        "small_arms": file(
            monitor,
            JERMUK,
            at + timedelta(hours=2),
            category=IncidentReport.Category.SMALL_ARMS,
            severity=2,
            military_killed=1,
            casualty_source="party_reported",
        ),  # fmt: skip
        "rejected": file(monitor, GORIS, at + timedelta(hours=3)),
        "draft": file(monitor, GORIS, at + timedelta(hours=4), status="draft"),
        "before": file(monitor, GORIS, START - timedelta(hours=2)),
        "after": file(monitor, GORIS, END + timedelta(minutes=1)),
    }
    with acting_as(actor=duty, client=AuditEntry.Client.SESSION):
        review.report_mark_reviewed(report=made["shelling"], by=duty)
        review.report_verify(report=made["shelling"], by=duty, level="corroborated",
                             note="Heard by two teams")  # fmt: skip
        events.reports_link_as_one_event(reports=[made["shelling"], made["same_event"]], by=duty)
        review.report_reject(report=made["rejected"], by=duty, reason="Quarry blasting")
    return made


def produce(end=END, now=None):
    with time_machine.travel(now or end + timedelta(minutes=5), tick=False):
        return summaries.summary_produce(period_end=end)


@pytest.mark.django_db
def test_the_summary_counts_the_period_as_the_rules_say(period):
    revision = produce()
    c = revision.content
    assert revision.summary.title == "Daily Report 320/2026"
    assert c["period"]["label"] == ("From 19:30 on 15 November 2026 to 19:30 on 16 November "
                                    "2026 (Asia/Yerevan time)")  # fmt: skip
    incidents = c["incidents"]
    # Five reports in the period: a draft and a rejected one do not count, and the two
    # reports of one shelling are one incident.
    assert (incidents["reports"], incidents["total"]) == (3, 2)
    assert incidents["previous_total"] == 1  # the report two hours before the period
    assert incidents["by_sector"] == {"Ararat": 0, "Gegharkunik": 0, "Syunik": 1, "Tavush": 0,
                                      "Vayots Dzor": 1}  # fmt: skip
    table = {(r["sector"], r["category"]): (r["count"], r["previous"], r["change"])
             for r in incidents["by_sector_category"]}  # fmt: skip
    assert table == {("Syunik", "shelling"): (1, 1, 0), ("Vayots Dzor", "small_arms"): (1, 0, 1)}
    casualties = incidents["casualties"]
    assert casualties["civilian"]["injured"] == {"corroborated": 2, "party_reported": 0}
    assert casualties["military"]["killed"] == {"corroborated": 0, "party_reported": 1}
    assert incidents["damage"][0]["damage"] == "Roof of a house in Kornidzor hit."
    # Only the reviewed report is a notable incident, with its verification level.
    [notable] = incidents["notable"]
    assert notable["verification"] == "Corroborated" and notable["reports"] == 2
    assert notable["summary"].startswith("At 01:30 on 16 November, ")
    assert "shelling / artillery in Kornidzor, Syunik (12 explosions)" in notable["summary"]
    refs = {row["ref"] for row in incidents["annex"]}
    # The references people use (KAP-2026-0142), not internal identifiers.
    assert refs == {period[k].reference for k in ("shelling", "same_event", "small_arms")}
    assert c["highlights"][0] == ("2 incidents recorded (3 reports), up from 1 the previous "
                                  "period; 7-day average 0.1.")  # fmt: skip


@pytest.mark.django_db
def test_exactly_one_summary_per_period_and_a_rebuild_changes_nothing(period):
    first = produce()
    assert produce() is None
    assert DailySummary.objects.count() == 1 and SummaryRevision.objects.count() == 1
    content = build_content(title=first.summary.title, number=320, year=2026,
                                      start=START, end=END)  # fmt: skip
    assert summaries.canonical_sha256(content) == first.content_sha256
    with pytest.raises(ValueError, match="immutable"):
        first.save()
    with pytest.raises(ValueError, match="immutable"):
        first.artefacts.first().delete()


@pytest.mark.django_db
def test_a_late_report_makes_revision_2_which_says_what_changed(users, period):
    first = produce()
    late = file(users["monitor"], JERMUK, START + timedelta(hours=20),
                category=IncidentReport.Category.DRONE, severity=3)  # fmt: skip
    second = produce(now=END + timedelta(hours=14))
    assert (first.number, second.number) == (1, 2)
    assert second.content["incidents"]["total"] == 3
    ref = late.reference
    assert "Incidents: 2 → 3." in second.changes
    assert any(line.startswith(f"Added [{ref}]: Drone or air strike") for line in second.changes)
    pdf = second.artefacts.get(level="internal", format="pdf")
    assert pdf.sha256 != first.artefacts.get(level="internal", format="pdf").sha256
    # Revision 1 is still there, unchanged.
    first.refresh_from_db()
    assert first.content["incidents"]["total"] == 2


@pytest.mark.django_db
def test_after_a_three_day_outage_every_missing_summary_is_built_oldest_first(period):
    produce(end=END - timedelta(days=1))
    with time_machine.travel(END + timedelta(days=3, hours=1), tick=False):
        made = summaries.summaries_catch_up()
    assert [r.summary.number for r in made] == [320, 321, 322, 323]
    with time_machine.travel(END + timedelta(days=3, hours=2), tick=False):
        assert summaries.summaries_catch_up() == []
    assert DailySummary.objects.count() == 5


@pytest.mark.django_db
def test_the_releasable_level_holds_no_source_identity(period):
    revision = produce()
    internal = json.loads(bytes(revision.artefacts.get(level="internal", format="json").data))
    releasable = json.loads(bytes(revision.artefacts.get(level="releasable", format="json").data))
    reporter = users_name = internal["incidents"]["annex"][0]["reporter"]
    assert users_name
    text = bytes(revision.artefacts.get(level="releasable", format="csv").data).decode()
    for data in (
        json.dumps(releasable),
        text,
        bytes(revision.artefacts.get(level="releasable", format="geojson").data).decode(),
    ):
        assert reporter not in data
        assert str(period["shelling"].uuid) not in data  # full ids lead to attachments
    row = releasable["incidents"]["annex"][0]
    assert not {"reporter", "alleged_by", "attachments", "uuid"} & row.keys()
    assert row["latitude"] == round(row["latitude"], 2)
    assert internal["incidents"]["annex"][0]["latitude"] != round(
        internal["incidents"]["annex"][0]["latitude"], 2)  # fmt: skip
    assert releasable["incidents"]["total"] == internal["incidents"]["total"]


@pytest.mark.django_db
def test_the_csv_has_acled_columns_and_hxl_hashtags_in_its_second_row(period):
    revision = produce()
    rows = list(csv.reader(io.StringIO(
        bytes(revision.artefacts.get(level="internal", format="csv").data).decode())))  # fmt: skip
    header, tags, first = rows[0], rows[1], rows[2]
    acled = [
        "event_date", "event_type", "sub_event_type", "admin1", "location", "latitude",
        "longitude", "geo_precision", "time_precision", "fatalities", "notes", "source",
    ]  # fmt: skip
    assert all(column in header for column in acled)
    assert all(tag.startswith("#") for tag in tags) and len(tags) == len(header)
    assert tags[header.index("latitude")] == "#geo+lat"
    values = dict(zip(header, first, strict=True))
    assert values["event_type"] == "Explosions/Remote violence"
    assert values["sub_event_type"] == "Shelling/artillery/missile attack"
    assert values["admin1"] == "Syunik" and values["geo_precision"] == "2"
    assert len(rows) == 2 + 3


@pytest.mark.django_db
def test_the_json_validates_against_the_documented_schema(period):
    import jsonschema
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    root = {"$ref": "#/components/schemas/DailySummaryContent",
            "components": {"schemas": as_json_schema(schema["components"]["schemas"])}}  # fmt: skip
    validator = jsonschema.Draft202012Validator(root)
    revision = produce()
    for level in ("internal", "releasable"):
        document = json.loads(bytes(revision.artefacts.get(level=level, format="json").data))
        assert list(validator.iter_errors(document)) == []
    broken = json.loads(bytes(revision.artefacts.get(level="internal", format="json").data))
    broken["incidents"]["total"] = "two"
    assert list(validator.iter_errors(broken))  # the schema does check


def as_json_schema(node):
    """OpenAPI 3.0's `nullable: true` in JSON Schema terms (a null type allowed)."""
    if isinstance(node, dict):
        node = {k: as_json_schema(v) for k, v in node.items()}
        if node.pop("nullable", False) and "type" in node:
            node["type"] = [node["type"], "null"]
        return node
    if isinstance(node, list):
        return [as_json_schema(v) for v in node]
    return node


@pytest.mark.django_db
def test_the_pdf_renders_to_non_empty_pages(period, tmp_path):
    import subprocess

    revision = produce()
    pdf = tmp_path / "summary.pdf"
    pdf.write_bytes(bytes(revision.artefacts.get(level="internal", format="pdf").data))
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf), str(tmp_path / "page")], check=True)
    from PIL import Image

    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 2
    for page in pages:
        image = Image.open(page).convert("L")
        assert image.getextrema()[0] < 128  # something dark was drawn: text, lines, the map


@pytest.mark.django_db
def test_each_revision_is_e_mailed_once_with_its_pdf_at_the_recipients_level(
    period, django_capture_on_commit_callbacks
):
    SummaryRecipient.objects.create(name="HQ desk", email="hq@mission.test", level="internal")
    SummaryRecipient.objects.create(name="Mediator", email="med@eu.test", level="releasable")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        revision = produce()
    assert len(callbacks) == 1  # the delivery task, after the commit
    for _ in range(2):  # a redelivered task sends nothing twice
        summaries.summary_deliver(revision_id=revision.pk)
    assert sorted(m.to[0] for m in mail.outbox) == ["hq@mission.test", "med@eu.test"]
    to_mediator = next(m for m in mail.outbox if m.to == ["med@eu.test"])
    name, data, kind = to_mediator.attachments[0]
    assert name.endswith("-releasable.pdf") and kind == "application/pdf"
    assert data == bytes(revision.artefacts.get(level="releasable", format="pdf").data)


@pytest.mark.django_db
def test_no_summary_for_a_period_not_yet_closed():
    with time_machine.travel(END - timedelta(hours=1), tick=False):
        ends = summaries.periods_due(timezone.now())
    assert ends and max(ends) < END - timedelta(hours=1)


@pytest.fixture
def operations(users, recipients):
    """Patrols, a restriction and liaison exchanges around Daily Report 320/2026."""
    from core.models import ForwardBase, Province
    from liaison.models import FollowUp, LogEntry, Party
    from patrols.models import PatrolPlan
    from patrols.services import patrol_plan_create
    from patrols.services.execution import movement_restriction_record
    from patrols.services.history import itinerary_history_record
    from patrols.tests.conftest import JERMUK_SOUTH

    leader, coordinator = users["team_leader"], users["coordinator"]
    goris, jermuk = ForwardBase.objects.get(name="Goris"), ForwardBase.objects.get(name="Jermuk")
    departure = START + timedelta(hours=12)

    def plan(base, status, **extra):
        return patrol_plan_create(
            forward_base=base, team_leader=leader, purpose=f"{status} patrol",
            planned_departure=departure, planned_return=departure + timedelta(hours=8),
            route=JERMUK_SOUTH, status=status, **extra,
        )  # fmt: skip

    done = plan(goris, PatrolPlan.Status.COMPLETED, monitors=[users["monitor"]])
    itinerary_history_record(
        plan=done, approved_by=coordinator, approved_at=departure - timedelta(days=7),
        acknowledged_at={"armenia": departure - timedelta(days=6), "azerbaijan": None},
    )  # fmt: skip
    PatrolPlan.objects.filter(pk=done.pk).update(
        started_at=departure,
        ended_at=departure + timedelta(hours=7),
        max_deviation_km=2.4,
        urgent_override=True,
        override_justification="Shelling reported at dawn",
    )
    plan(jermuk, PatrolPlan.Status.CANCELLED)
    plan(jermuk, PatrolPlan.Status.DRAFT)
    movement_restriction_record(
        plan=PatrolPlan.objects.get(pk=done.pk), by=leader, category="denial",
        actor="azerbaijani_forces", occurred_at=departure + timedelta(hours=2),
        location=Point(*JERMUK, srid=4326), turned_back=True,
    )  # fmt: skip
    azerbaijan, syunik = Party.objects.get(code="azerbaijan"), Province.objects.get(name="Syunik")
    hotline = LogEntry.objects.create(
        occurred_at=departure, kind=LogEntry.Kind.HOTLINE, initiating_party=azerbaijan,
        sector=syunik, topic=LogEntry.Topic.INCIDENT, summary="Asked about the shelling.",
        recorded_by=users["liaison_officer"],
    )  # fmt: skip
    LogEntry.objects.create(
        occurred_at=departure + timedelta(hours=1), kind=LogEntry.Kind.MEETING,
        topic=LogEntry.Topic.WATER, summary="Irrigation channel.",
        recorded_by=users["liaison_officer"],
    )  # fmt: skip
    FollowUp.objects.create(entry=hotline, action="Send the crater analysis",
                            owner=users["liaison_officer"], due_on=START.date())  # fmt: skip
    FollowUp.objects.create(entry=hotline, action="Thank the caller", owner=users["coordinator"],
                            due_on=START.date(), done_at=START)  # fmt: skip
    return {"done": done}


@pytest.mark.django_db
def test_patrols_restrictions_notifications_and_liaison_are_counted(operations, users):
    c = produce().content
    bases = {row["base"]: row for row in c["patrols"]["by_base"]}
    assert bases["Goris"] == {"base": "Goris", "planned": 1, "notified": 1, "completed": 1,
                              "cancelled": 0, "aborted": 0,
                              "acknowledged": {AM: 1, AZ: 0}}  # fmt: skip
    assert (bases["Jermuk"]["planned"], bases["Jermuk"]["cancelled"]) == (1, 1)  # no draft
    assert c["restrictions"]["by_category_actor"] == [
        {"category": "Denial of access", "actor": "Azerbaijani forces", "count": 1}]  # fmt: skip
    assert c["restrictions"]["list"][0]["turned_back"] is True
    assert c["restrictions"]["list"][0]["patrol"] == operations["done"].pk
    [override] = c["patrols"]["urgent_overrides"]
    assert override["justification"] == "Shelling reported at dawn"
    [deviation] = c["patrols"]["route_deviations"]
    assert (deviation["base"], deviation["max_deviation_km"]) == ("Goris", 2.4)
    parties = {row["party"]: row for row in c["notifications"]["by_party"]}
    assert (parties[AM]["sent"], parties[AM]["acknowledged"]) == (1, 1)
    assert (parties[AZ]["sent"], parties[AZ]["unacknowledged"]) == (1, 1)
    assert [u["party"] for u in c["notifications"]["unacknowledged"]] == [AZ]
    liaison = c["liaison"]
    assert liaison["hotline"] == [{"sector": "Syunik", "party": AZ,
                                   "topic": "Incident clarification", "count": 1}]  # fmt: skip
    assert (liaison["meetings"], liaison["entries"]) == (1, 2)
    [overdue] = liaison["overdue_follow_ups"]
    assert overdue["action"] == "Send the crater analysis" and overdue["owner"]
    releasable = documents.releasable(c)
    assert "owner" not in releasable["liaison"]["overdue_follow_ups"][0]
    assert f"Hotline activations: {AZ} 1." in c["highlights"]


@pytest.mark.postgresql
@pytest.mark.django_db
def test_on_postgresql_the_database_refuses_to_change_a_stored_summary(period):
    from django.db import DatabaseError, connection, transaction

    revision = produce()
    artefact = revision.artefacts.first()
    for sql, args in [
        ("UPDATE reports_summaryartefact SET sha256 = %s WHERE id = %s", ["0" * 64, artefact.pk]),
        ("DELETE FROM reports_summaryrevision WHERE id = %s", [revision.pk]),
        ("UPDATE reports_dailysummary SET number = 1 WHERE id = %s", [revision.summary_id]),
    ]:
        with (pytest.raises(DatabaseError, match="immutable"), transaction.atomic(),
              connection.cursor() as cursor):  # fmt: skip
            cursor.execute(sql, args)
    artefact.refresh_from_db()
    assert artefact.sha256 != "0" * 64


@pytest.mark.django_db
def test_the_command_builds_any_period_with_a_progress_bar_and_refuses_the_future(period):
    from io import StringIO

    from django.core.management import CommandError, call_command

    out, err = StringIO(), StringIO()
    with time_machine.travel(END + timedelta(days=2), tick=False):
        call_command("build_summary", "--from", "2026-11-15", "--to", "2026-11-16",
                     stdout=out, stderr=err)  # fmt: skip
        assert "Daily Report 319/2026, revision 1" in out.getvalue()
        assert "Daily Report 320/2026, revision 1" in out.getvalue()
        assert "18/18" in err.getvalue()  # two periods × nine steps, drawn by tqdm
        again = StringIO()
        call_command("build_summary", "--day", "2026-11-16", stdout=again, stderr=StringIO())
        assert "Nothing changed" in again.getvalue()
        with pytest.raises(CommandError, match="not reached its cut-off"):
            call_command("build_summary", "--day", "2026-11-20", stdout=StringIO(),
                         stderr=StringIO())  # fmt: skip
        with pytest.raises(CommandError, match="--from and --to"):
            call_command("build_summary", "--from", "2026-11-16", stdout=StringIO())
    assert DailySummary.objects.count() == 2

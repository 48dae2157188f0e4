"""Filing and changing incident reports: what their authors do from the tablet, and a duty
officer's correction in the admin.

- `incident_report_receive`: the one way a report is stored under its UUID (the tablet's
  POST, the demo data, the tests' factories): filed once whatever the network does, a
  resend answered with the stored report, a conflict naming the fields that differ.
- `incident_report_edit`: its author changes a draft in place or amends a submitted or
  returned report (IncidentReport.EDITABLE / AMENDABLE), only from the version they saw.
- `incident_report_submit`: a draft or a returned report goes to review.
- `incident_report_correct`: a duty officer corrects a filed report, its history kept.

Sector and location phrase are always derived from the point, never typed; a serious report
becomes due for its flash alert (reports.services.review) in the write that makes it so.
"""

import json
import uuid as uuid_lib
from datetime import timedelta

from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.audit.services import audited_insert
from core.models import User
from core.roles import Role, has_role
from core.selectors import as_wgs84
from patrols.models import PatrolPlan
from reports.models import IncidentReport, ReportRevision
from reports.selectors import incident_report_require_author, patrols_linkable
from reports.services.placement import incident_placement
from reports.services.references import reference_next
from reports.services.review import flash_alert_enqueue_if_needed, flash_alert_mark_due

# Tablet clocks drift; a few minutes ahead of the server is still "now".
CLOCK_SKEW = timedelta(minutes=5)
# What a monitor writes besides the core fields (the rest is derived or set by review).
DETAIL_FIELDS = {
    "time_precision", "observed_until", "location_precision", "observer_position",
    "direction_degrees", "estimated_distance_m", "observation_means", "explosions", "shots",
    "bursts", "weapons", "alleged_actor", "alleged_by", "civilians_killed",
    "civilians_injured", "military_killed", "military_injured", "casualty_source", "damage",
}  # fmt: skip
FILED_FIELDS = {
    "observed_at",
    "location",
    "category",
    "severity",
    "description",
    "patrol",
    "status",
} | DETAIL_FIELDS


# Measured by the server when the monitor gave none (_fill_sight_line).
SIGHT_LINE_FIELDS = {"direction_degrees", "estimated_distance_m"}

BETWEEN_NEEDS_AN_END = next(
    c.violation_error_message
    for c in IncidentReport._meta.constraints
    if c.name == "incident_between_has_an_end_after_the_start"
)


class ReportConflict(Exception):
    """The UUID is stored with different content: the tablet must not overwrite it blindly."""

    def __init__(self, report, fields):
        super().__init__(f"Report {report.uuid} is stored with different {', '.join(fields)}.")
        self.report = report
        self.fields = fields


def _same(stored, sent):
    if isinstance(stored, Point) or isinstance(sent, Point):
        return stored is not None and sent is not None and stored.equals_exact(sent, 1e-7)
    if hasattr(stored, "pk") and not isinstance(sent, int | str | None):
        return stored == sent
    if hasattr(stored, "pk"):
        return stored.pk == sent
    return stored == sent


def _differences(report, fields) -> list[str]:
    return sorted(
        name for name, value in fields.items()
        if not _same(getattr(report, name), value)
    )  # fmt: skip


def _check_patrol(*, author: User, patrol: PatrolPlan | None) -> None:
    if patrol is not None and not patrols_linkable(user=author).filter(pk=patrol.pk).exists():
        raise ValidationError(
            {
                "patrol": [
                    "This patrol cannot be linked: choose one of your forward base (or one you "
                    "were on) that went out, or no patrol."
                ]
            }
        )


def incident_report_receive(
    *, author: User, uuid: uuid_lib.UUID, fields: dict, flash_alert: bool = True
) -> tuple[IncidentReport, bool]:
    """What the tablet's POST does: file the report once, whatever happens to the network.

    Preconditions: `fields` are the report's as the tablet sends them (observed_at, location,
    category, severity, description; optionally patrol, status and the details); `location`
    lies in the mission area, `observed_at` is not in the future, `patrol` is one the author
    may link. Raises ValidationError naming the field for anything a user can get wrong.

    Returns (report, created). The same UUID with the same content returns the stored report
    (created False); with different content raises ReportConflict naming the fields; under
    another author's UUID, a ValidationError on `uuid`. Two requests racing with one UUID are
    settled by the database's unique constraint, not by a check-then-insert: the loser's
    insert fails and it compares with the winner's row.

    Effects: one IncidentReport row with its audit entry; a serious submitted report is due
    for its flash alert in the same write, sent by the worker after the commit. The demo's
    history and the tests' fixtures pass `flash_alert=False`: a report filed as if long since
    dealt with alerts nobody (as the demo's reviewed reports of three weeks ago must not).
    """
    # No lookup of the UUID first (it cost a query on every new report): the insert is tried
    # and the unique constraint says when the UUID is already stored. A resend pays for the
    # derivations of the failed insert instead, and a resend that no longer validates (its
    # patrol was closed since) is still answered with the stored report.
    try:
        _check_patrol(author=author, patrol=fields.get("patrol"))
        # No transaction around it: the report and its audit entry are written together by
        # one statement on PostgreSQL (in one transaction elsewhere), and the flash alert is
        # enqueued once that has committed (on_commit runs at once outside a transaction).
        defaults = {"patrol": None, "status": IncidentReport.Status.DRAFT}
        report = _insert(author=author, uuid=uuid, flash_alert=flash_alert, **(defaults | fields))
        if flash_alert:
            flash_alert_enqueue_if_needed(report)
        return report, True
    except (IntegrityError, ValidationError):
        existing = IncidentReport.objects.filter(uuid=uuid).first()
        if existing is None:
            raise
    if existing.author_id != author.pk:
        raise ValidationError({"uuid": ["This report identifier is already in use."]})
    location = fields.get("location")
    compared = {**fields, "location": as_wgs84(location)} if location is not None else fields
    # A resend of a draft that was submitted meanwhile is still the same report; so is one
    # that left out the direction and distance the server measured (_fill_sight_line).
    compared = {
        k: v for k, v in compared.items()
        if k != "status" and not (k in SIGHT_LINE_FIELDS and v is None)
    }  # fmt: skip
    different = _differences(existing, compared)
    if different:
        raise ReportConflict(existing, different)
    return existing, False


def _insert(*, author, observed_at, location, category, severity, description, patrol, status,
            uuid, flash_alert, **details) -> IncidentReport:  # fmt: skip
    """The new report, checked and derived (sector, phrase), inserted with its audit entry."""
    if timezone.is_naive(observed_at):
        raise ValidationError({"observed_at": ["The observation time must carry a time zone."]})
    if observed_at > timezone.now() + CLOCK_SKEW:
        raise ValidationError({"observed_at": ["The observation time cannot be in the future."]})
    if details.get("observed_until") is not None and details["observed_until"] <= observed_at:
        raise ValidationError(
            {"observed_until": ["The end of the observation must come after its start."]}
        )
    if details.get("time_precision") == IncidentReport.TimePrecision.BETWEEN and not (
        details.get("observed_until") and details["observed_until"] > observed_at
    ):
        # The check constraint's own message, said of the field (see full_clean below).
        raise ValidationError({"observed_until": [BETWEEN_NEEDS_AN_END]})

    unknown = set(details) - DETAIL_FIELDS
    if unknown:
        raise ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
    location = as_wgs84(location)
    if details.get("observer_position") is not None:
        details["observer_position"] = as_wgs84(details["observer_position"])
    # The sector, the flag and the phrase, by the observer's rule (reports.services.placement).
    placement = incident_placement(
        location=location, observer_position=details.get("observer_position")
    )
    _fill_sight_line(details, placement)
    report = IncidentReport(
        author=author,
        observed_at=observed_at,
        location=location,
        category=category,
        severity=severity,
        description=description,
        patrol=patrol,
        status=status,
        sector=placement.sector,
        across_line=placement.across_line,
        location_phrase=placement.location_phrase,
        submitted_at=timezone.now() if status == IncidentReport.Status.SUBMITTED else None,
        **details,
    )
    if uuid is not None:
        report.uuid = uuid
    # Uniqueness of the UUID is left to the database: a concurrent resend must fail on the
    # constraint (and be answered with the stored report), not pass a check and then fail.
    # The check constraints are left to the database too (validating them cost a query and a
    # savepoint each): severity 1–5 is checked by the field's validators here, the 'between'
    # window above. So are the foreign keys (a query each): the author is the authenticated
    # user, the sector was just read, the patrol was read and checked by _check_patrol.
    report.full_clean(
        exclude=["author", "sector", "patrol", "reference"],  # the reference: given below
        validate_unique=False,
        validate_constraints=False,
    )
    # save() without compiling its 40-column INSERT anew (~0.3 ms), with its audit entry in
    # the same statement on PostgreSQL (three round trips fewer, ~0.4 ms).
    if flash_alert:
        flash_alert_mark_due(report)  # in the same row: no write after it

    # The number and the row in one transaction: an insert refused (a resend's UUID) gives
    # its number back, so a base's references have no gaps (reports.services.references).
    def numbered():
        report.reference = reference_next(author=author, observed_at=observed_at)

    audited_insert(report, before=numbered)
    return report


def _fill_sight_line(details, placement) -> None:
    """Direction and distance from the observer, when the monitor gave none: measured from
    the two points (what the monitor typed is an observation of its own and is kept)."""
    if placement.bearing_degrees is None:
        return
    if details.get("direction_degrees") is None:
        details["direction_degrees"] = placement.bearing_degrees
    if details.get("estimated_distance_m") is None:
        details["estimated_distance_m"] = placement.distance_m


class StaleVersion(Exception):
    """The edit was made on an older version of the report than the one stored."""

    def __init__(self, report):
        super().__init__(f"Report {report.uuid} is at version {report.version}.")
        self.report = report


def _snapshot(report) -> dict:
    values = {}
    for name in sorted(FILED_FIELDS | {"sector", "location_phrase"}):
        value = getattr(report, name)
        if isinstance(value, Point):
            value = {"type": "Point", "coordinates": [value.x, value.y]}
        elif hasattr(value, "pk"):
            value = value.pk
        values[name] = value
    return json.loads(json.dumps(values, cls=DjangoJSONEncoder))


@transaction.atomic
def incident_report_edit(
    *, report: IncidentReport, by: User, expected_version: int, fields: dict, reason: str = ""
) -> IncidentReport:
    """Its author's change of a report, only from the version the editor saw (If-Match).

    A draft changes in place (IncidentReport.EDITABLE); a submitted or returned report is
    amended (IncidentReport.AMENDABLE): its previous content kept as a ReportRevision with
    `reason`. Reviewed and rejected reports are refused. Raises StaleVersion on a lost update.
    """
    report = IncidentReport.objects.select_for_update().get(pk=report.pk)
    incident_report_require_author(user=by, report=report)
    if report.status not in IncidentReport.EDITABLE | IncidentReport.AMENDABLE:
        raise ValidationError(
            {"status": [f"A {report.get_status_display().lower()} report cannot be changed."]}
        )
    if report.version != expected_version:
        raise StaleVersion(report)
    unknown = set(fields) - FILED_FIELDS
    if unknown:
        raise ValidationError({name: ["This field cannot be changed."] for name in unknown})
    if fields.get("status") not in (None, report.status):
        raise ValidationError({"status": ["Submit or withdraw through their own actions."]})
    if "patrol" in fields and fields["patrol"] != report.patrol:
        _check_patrol(author=by, patrol=fields["patrol"])
    return _amend(report, by=by, fields=fields, reason=reason,
                  keep_revision=report.status in IncidentReport.AMENDABLE)  # fmt: skip


def _amend(report, *, by, fields, reason, keep_revision):
    """Write `fields` onto the locked report as its next version: the previous content kept
    as a ReportRevision when asked, sector and phrase derived again from a new point, the
    flash alert due in the same write (the author's amendments and a duty officer's
    corrections alike)."""
    if keep_revision:
        ReportRevision.objects.create(
            report=report, version=report.version, content=_snapshot(report), changed_by=by,
            reason=reason,
        )  # fmt: skip
    for name, value in fields.items():
        setattr(report, name, value)
    if report.observed_until is not None and report.observed_until <= report.observed_at:
        raise ValidationError(
            {"observed_until": ["The end of the observation must come after its start."]}
        )
    if "location" in fields or "observer_position" in fields:
        placement = _place(report)
        # The line of sight follows the points moved, unless the edit gives it itself.
        if not SIGHT_LINE_FIELDS & set(fields):
            report.direction_degrees = placement.bearing_degrees
            report.estimated_distance_m = placement.distance_m
    report.version += 1
    report.full_clean()
    flash_alert_mark_due(report)  # in the same write
    report.save()
    # An amendment that makes a submitted report serious (severity, casualties) alerts as
    # filing it so would have; one already alerted is not alerted again.
    flash_alert_enqueue_if_needed(report)
    return report


def _place(report):
    """Sector, flag and phrase from the report's (checked) points, never from what was typed."""
    report.location = as_wgs84(report.location)
    report.observer_position = as_wgs84(report.observer_position)
    placement = incident_placement(
        location=report.location, observer_position=report.observer_position
    )
    report.sector = placement.sector
    report.across_line = placement.across_line
    report.location_phrase = placement.location_phrase
    return placement


CORRECTABLE = {"observed_at", "category", "severity", "description", "location", "patrol"}


@transaction.atomic
def incident_report_correct(
    *, report: IncidentReport, by: User, expected_version: int, fields: dict, reason: str = ""
) -> IncidentReport:
    """A duty officer's correction of a filed report (the admin's change form).

    Preconditions: `by` is a duty officer; the report is not a draft (a draft is its author's
    alone until submitted); `expected_version` is the version the corrector saw. Effects: the
    previous content kept as a ReportRevision, the version bumped (the author's tablet then
    gets 412/409 instead of overwriting the correction), sector and phrase derived again,
    audited like every save. Raises StaleVersion on a lost update.
    """
    if not has_role(by, Role.DUTY_OFFICER):
        raise PermissionDenied("Only a duty officer corrects a filed report.")
    report = IncidentReport.objects.select_for_update().get(pk=report.pk)
    if report.status == IncidentReport.Status.DRAFT:
        raise PermissionDenied("A draft is its author's until it is submitted.")
    if report.version != expected_version:
        raise StaleVersion(report)
    unknown = set(fields) - CORRECTABLE
    if unknown:
        raise ValidationError({name: ["This field cannot be corrected."] for name in unknown})
    changed = {name: value for name, value in fields.items() if getattr(report, name) != value}
    if not changed:
        return report
    if "observed_at" in changed and changed["observed_at"] > timezone.now() + CLOCK_SKEW:
        raise ValidationError({"observed_at": ["The observation time cannot be in the future."]})
    if "patrol" in changed and changed["patrol"] is not None:
        # The patrols the report's author may link it to, as when the author links it.
        _check_patrol(author=report.author, patrol=changed["patrol"])
    return _amend(report, by=by, fields=changed, keep_revision=True,
                  reason=reason or "Corrected by the duty officer.")  # fmt: skip


@transaction.atomic
def incident_report_submit(*, report: IncidentReport, by: User) -> IncidentReport:
    """Its author sends a draft, or a returned report, to review (a resend changes nothing);
    a serious one becomes due for its flash alert in the same write."""
    report = IncidentReport.objects.select_for_update().get(pk=report.pk)
    incident_report_require_author(user=by, report=report, doing="submit it")
    if report.status == IncidentReport.Status.SUBMITTED:
        return report  # a resent submission changes nothing
    if report.status not in (IncidentReport.Status.DRAFT, IncidentReport.Status.RETURNED):
        raise ValidationError(
            {"status": [f"A {report.get_status_display().lower()} report cannot be submitted."]}
        )
    report.status = IncidentReport.Status.SUBMITTED
    report.submitted_at = report.submitted_at or timezone.now()
    report.version += 1
    flash_alert_mark_due(report)  # in the same write
    report.save(update_fields=["status", "submitted_at", "version", "flash_alert_due_at"])
    flash_alert_enqueue_if_needed(report)
    return report
